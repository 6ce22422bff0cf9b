//go:build tools

// The extra programs scripts/local-cluster.sh builds. Never compiled (build tag); it only keeps
// them, and thereby their versions, in go.mod and go.sum.
package extras

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
