// Every state of every statechart says what it is for, so the inspector and the exported diagrams
// explain themselves.
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { expect, it } from 'vitest';
import { batchMachine } from '../machines/batch.ts';
import { consolidationMachine } from '../machines/consolidation.ts';
import { coordinatorMachine } from '../machines/coordinator.ts';
import { daemonMachine } from '../machines/daemon.ts';
import { extractionMachine } from '../machines/extraction.ts';

const MACHINES: AnyStateMachine[] = [coordinatorMachine, extractionMachine, consolidationMachine, daemonMachine, batchMachine];

function undescribed(node: AnyStateNode): string[] {
  const own = node.description?.trim() ? [] : [node.id];
  return [...own, ...Object.values(node.states).flatMap(undescribed)];
}

it('gives every state of every machine a non-empty description', () => {
  for (const machine of MACHINES) {
    expect(undescribed(machine.root).filter((id) => id !== machine.root.id)).toEqual([]);
  }
});
