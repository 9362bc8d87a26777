// `memories machines`: the Mermaid and JSON exports people read the pipeline's statecharts from
// when the hosted Stately viewer is out of reach.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fromPromise, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { consolidationMachine } from '../machines/consolidation.ts';
import { coordinatorMachine } from '../machines/coordinator.ts';
import { extractionMachine } from '../machines/extraction.ts';
import { PIPELINE_MACHINES, stateNames, toDefinition, toMermaid } from '../services/inspect/machine-export.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'scripts', 'memories.js');

describe('toMermaid', () => {
  it('writes a small machine with every kind of edge exactly', () => {
    const machine = setup({
      actors: { fetch: fromPromise(async () => 1) },
      guards: { isReady: () => true },
    }).createMachine({
      id: 'toy',
      initial: 'idle',
      states: {
        idle: { on: { GO: 'busy', PING: { actions: () => {} } } },
        busy: {
          type: 'parallel',
          states: {
            work: { invoke: { id: 'fetch', src: 'fetch', onDone: '#toy.checking' } },
            clock: { initial: 'ticking', states: { ticking: { after: { 500: 'ticking' } } } },
          },
        },
        checking: { always: [{ guard: 'isReady', target: 'finished' }, { target: 'idle' }] },
        finished: { type: 'final' },
      },
    });
    expect(toMermaid(machine)).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> idle',
        '  state "idle" as idle',
        '  state "busy" as busy',
        '  state busy {',
        '    state "work" as busy_work',
        '    busy_work : invoke fetch',
        '    --',
        '    state "clock" as busy_clock',
        '    state busy_clock {',
        '      [*] --> busy_clock_ticking',
        '      state "ticking" as busy_clock_ticking',
        '    }',
        '  }',
        '  state "checking" as checking',
        '  state "finished" as finished',
        '  finished --> [*]',
        '  idle --> busy : GO',
        '  idle --> idle : PING',
        '  busy_work --> checking : done fetch',
        '  busy_clock_ticking --> busy_clock_ticking : after 500 ms',
        '  checking --> finished : always [isReady]',
        '  checking --> idle : always',
        '',
      ].join('\n'),
    );
  });

  it('shows the extraction job: parallel lease region, nested work states, guarded retries, named delays, invokes', () => {
    const text = toMermaid(extractionMachine);
    expect(text).toMatch(
      /state running \{\n\s+state "work" as running_work\n\s+state running_work \{\n\s+\[\*\] --> running_work_starting\n/,
    );
    expect(text).toMatch(
      /running_work_requesting : invoke request\n[\s\S]*running_work_recording : invoke record\n\s+\}\n\s+--\n\s+state "lease"/,
    );
    expect(text).toContain('running_work_starting --> running_work_recording : always [hasReply]');
    expect(text).toContain('running_work_requesting --> running_work_recording : done request');
    expect(text).toContain('failed --> leaseLost : always [leaseWasLost]');
    expect(text).toContain('failed --> backoff : always [hasRetriesLeft]');
    expect(text).toContain('failed --> recordingFailure : always\n');
    expect(text).toContain('backoff --> leased : after retryDelay');
    expect(text).toContain('running_lease_held --> running_lease_renewing : after heartbeat');
    expect(text).toContain('running_work_requesting --> failed : error request');
    expect(text).toContain('running_work_recording --> failed : error record');
  });

  it('shows the coordinator skipping phase 1 and consolidation with `always` guards', () => {
    const text = toMermaid(coordinatorMachine);
    expect(text).toContain('starting --> scanning : always [extractsFirst]');
    expect(text).toContain('starting --> phase1Finished : always\n');
    expect(text).toContain('extracting --> phase1Finished : always [allJobsFinished]');
    expect(text).toContain('consolidating : invoke consolidation');
  });

  it('labels every state of every pipeline machine', () => {
    for (const { machine } of PIPELINE_MACHINES) {
      const text = toMermaid(machine);
      for (const name of stateNames(machine)) expect(text).toContain(`state "${name}" as `);
    }
    expect(stateNames(consolidationMachine)).toContain('renewing');
  });
});

describe('memories machines (the command)', () => {
  const memories = (args: string[]) =>
    exec(process.execPath, [BIN, 'machines', ...args], { timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('prints one stateDiagram-v2 per machine by default', async () => {
    const { code, stdout } = await memories([]);
    expect(code).toBe(0);
    expect(stdout.match(/^stateDiagram-v2$/gm)).toHaveLength(5);
    expect(stdout.match(/^%% machine: (\w+)$/gm)).toEqual([
      '%% machine: coordinator',
      '%% machine: extraction',
      '%% machine: consolidation',
      '%% machine: batch',
      '%% machine: daemon',
    ]);
    // Each state explains itself in the diagram too, as in the inspector.
    expect(stdout).toContain('  running_work_awaitingSlot : Waits for the coordinator to give it one of its model slots');
    expect(stdout).toContain('  active_gathering : Collects rollouts that go idle together into one run.');
  });

  it('prints each definition as JSON with --format json', async () => {
    const { code, stdout } = await memories(['--format', 'json']);
    expect(code).toBe(0);
    const definitions = JSON.parse(stdout);
    expect(Object.keys(definitions)).toEqual(['coordinator', 'extraction', 'consolidation', 'batch', 'daemon']);
    expect(definitions.extraction).toEqual(toDefinition(extractionMachine));
    expect(Object.keys(definitions.extraction.states.running.states)).toEqual(['work', 'lease']);
  });

  it('stops quietly when its reader closes the pipe early (memories machines | head -1)', async () => {
    const child = spawn(process.execPath, [BIN, 'machines', '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('rejects an unknown format with exit code 2', async () => {
    const { code, stderr } = await memories(['--format', 'dot']);
    expect(code).toBe(2);
    expect(stderr).toContain('--format must be mermaid or json');
  });
});
