// Slurm jobs (004 in the reference): the same action model, without pods.
import { CheckpointSlurmJob, RestoreSlurmJob } from '../../cedana/schemas.ts';
import type { Route } from '../context.ts';
import { ApiFailure, bodyAs, isUuid, text } from '../http.ts';
import { given, injectedFailure } from './actions.ts';

export const slurmRoutes: Route[] = [
  {
    method: 'POST',
    template: '/v2/slurm/checkpoint/job',
    style: 'v2',
    handle(ctx) {
      const { core } = ctx;
      const req = bodyAs(ctx.body, CheckpointSlurmJob);
      const jobId = given(req.job_id);
      const jobName = given(req.job_name);
      if (jobId === null && jobName === null) throw new ApiFailure(400, 'invalid request body: job_id or job_name is required');
      const action = core.store.createCheckpointAction(`slurm/${jobName ?? jobId ?? ''}`, {
        type: 'slurm_checkpoint',
        createdAt: core.now(),
        reason: req.reason ?? 'manual',
        failure: injectedFailure(ctx, 'CRIU dump failed'),
        kind: req.kind ?? 'simple',
        job: { id: jobId, name: jobName },
      });
      return text(action.id);
    },
  },
  {
    method: 'POST',
    template: '/v2/slurm/restore/job',
    style: 'v2',
    handle(ctx) {
      const { core } = ctx;
      const req = bodyAs(ctx.body, RestoreSlurmJob);
      const id = req.action_id;
      const source = isUuid(id) ? core.store.actions.get(id.toLowerCase()) : undefined;
      if (source?.type !== 'slurm_checkpoint') throw new ApiFailure(404, `Failed create restore: no slurm checkpoint action '${id}'`);
      const view = core.lifecycle.action(source);
      if (view.status !== 'ready') throw new ApiFailure(400, `Failed create restore: slurm checkpoint action ${id} is ${view.status}, not ready`);
      const action = core.store.createAction({
        type: 'slurm_restore',
        checkpointId: source.checkpointId,
        createdAt: core.now(),
        reason: req.reason,
        failure: injectedFailure(ctx, 'CRIU restore failed'),
        clusterId: given(req.cluster_id),
        kind: source.kind,
        job: source.job,
        sourceActionId: source.id,
      });
      return text(action.id);
    },
  },
];
