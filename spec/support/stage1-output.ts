// A stored stage-1 output for memory-folder specs, with the fields a test cares about overridden.
import type { Stage1Output } from '../../services/types.ts';

export function stage1Output(overrides: Partial<Stage1Output> = {}): Stage1Output {
  return {
    threadId: '0194f5a6-1111-7000-8000-000000000001',
    sourceUpdatedAt: 1_771_410_600,
    cwd: '/home/dev/project',
    rolloutPath: '/home/dev/.codex/sessions/rollout.jsonl',
    generatedAt: 1_771_410_660,
    usageCount: 0,
    lastUsage: null,
    rawMemory: 'raw memory',
    rolloutSummary: 'summary',
    rolloutSlug: null,
    ...overrides,
  };
}
