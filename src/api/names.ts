// Kubernetes names, label keys and label values (k8s.io/apimachinery/pkg/util/validation), as zod
// schemas that carry the same rule as CEL for the CRDs: the apiserver refuses at admission what the
// operator would refuse when it parses, with a message that says what a valid value is. A name the
// apiserver resolves as a path (`..`, `.`, `a/b`) can then never reach a read of another object.
import { z } from 'zod';

// RE2 and JavaScript read these alike; '[.]' rather than '\.' keeps CEL's string escaping out of it.
const LABEL_1123 = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL_1123}([.]${LABEL_1123})*`;
const QUALIFIED_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';

export const DNS1123_SUBDOMAIN_RE = `^${SUBDOMAIN}$`;
/** An optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export const LABEL_KEY_RE = `^(${SUBDOMAIN}/)?${QUALIFIED_NAME}$`;
/** Empty, or at most 63 characters, alphanumeric at both ends. */
export const LABEL_VALUE_RE = `^(${QUALIFIED_NAME})?$`;

export const MAX_SUBDOMAIN = 253;
export const MAX_LABEL_VALUE = 63;
/** prefix (253) + '/' + name (63) */
export const MAX_LABEL_KEY = MAX_SUBDOMAIN + 1 + 63;

export const SUBDOMAIN_RULE = "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";
export const LABEL_KEY_RULE = "an optional DNS subdomain prefix and '/', then a name of at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
export const LABEL_VALUE_RULE = "empty, or at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit";

export const isDns1123Subdomain = (s: string): boolean => s.length <= MAX_SUBDOMAIN && new RegExp(DNS1123_SUBDOMAIN_RE).test(s);
export const isLabelKey = (s: string): boolean => s.length <= MAX_LABEL_KEY && s.indexOf('/') <= MAX_SUBDOMAIN && new RegExp(LABEL_KEY_RE).test(s);
export const isLabelValue = (s: string): boolean => s.length <= MAX_LABEL_VALUE && new RegExp(LABEL_VALUE_RE).test(s);

/** CEL over `self` (a string), as the apiserver runs it. indexOf is -1 without a prefix. */
export const LABEL_KEY_CEL = (v: string): string => `${v}.indexOf('/') <= ${String(MAX_SUBDOMAIN)} && ${v}.matches('${LABEL_KEY_RE}')`;

/**
 * The name of an object of ours or a pod: a DNS-1123 subdomain. `what` opens the message
 * ("podName must be ..."). The CEL rule, not a pattern, so that the apiserver's message is ours.
 */
export const objectName = (what: string, description: string) => {
  const message = `${what} must be ${SUBDOMAIN_RULE}`;
  return (
    z
      .string()
      .min(1)
      .max(MAX_SUBDOMAIN)
      .refine(isDns1123Subdomain, { message })
      // maxLength bounds the rule's cost; an over-long name gets the apiserver's own "Too long" message.
      .meta({ description, 'x-kubernetes-validations': [{ rule: `self.matches('${DNS1123_SUBDOMAIN_RE}')`, message }] })
  );
};

export const labelKey = (what: string) => {
  const message = `${what} must be a label key: ${LABEL_KEY_RULE}`;
  return z
    .string()
    .min(1)
    .max(MAX_LABEL_KEY)
    .refine(isLabelKey, { message })
    .meta({ 'x-kubernetes-validations': [{ rule: LABEL_KEY_CEL('self'), message }] });
};

export const labelValue = (what: string) => {
  const message = `${what} must be a label value: ${LABEL_VALUE_RULE}`;
  return z
    .string()
    .max(MAX_LABEL_VALUE)
    .refine(isLabelValue, { message })
    .meta({ 'x-kubernetes-validations': [{ rule: `self.matches('${LABEL_VALUE_RE}')`, message }] });
};
