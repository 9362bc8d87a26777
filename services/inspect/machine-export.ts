// Offline views of the statecharts: Mermaid text, the JSON definition, and a self-contained HTML page.
// The exporter walks state nodes itself because `xstate/graph`'s toDirectedGraph() leaves out `always` edges.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AnyStateMachine } from 'xstate';
import { withOptionalPackages } from '../optional-module.ts';
import { batchMachine } from '../../machines/batch.ts';
import { consolidationMachine } from '../../machines/consolidation.ts';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import { daemonMachine } from '../../machines/daemon.ts';
import { extractionMachine } from '../../machines/extraction.ts';

/** The pipeline's machines, in the order a run meets them (`run --batch` runs `batch` for phase 1; `watch` runs `daemon`). */
export const PIPELINE_MACHINES: ReadonlyArray<{ name: string; machine: AnyStateMachine }> = [
  { name: 'coordinator', machine: coordinatorMachine },
  { name: 'extraction', machine: extractionMachine },
  { name: 'consolidation', machine: consolidationMachine },
  { name: 'batch', machine: batchMachine },
  { name: 'daemon', machine: daemonMachine },
];

// The public fields of XState's StateNode the exporter reads, without XState's deep generic types.
interface Node {
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  description?: string;
  states: Record<string, Node>;
  initial?: { target: Node[] };
  transitions: Map<string, Edge[]>;
  always?: Edge[];
  after: Array<{ delay: string | number; eventType: string }>;
  invoke: Array<{ id: string; src: unknown }>;
}

type Edge = { eventType: string; target?: Node[]; guard?: unknown };

/** Every state key of a machine (the root excluded), depth first. */
export function stateNames(machine: AnyStateMachine): string[] {
  const names = (node: Node): string[] => Object.values(node.states).flatMap((child) => [child.key, ...names(child)]);
  return names(machine.root as unknown as Node);
}

/** One `stateDiagram-v2` for the machine. */
export function toMermaid(machine: AnyStateMachine): string {
  const root = machine.root as unknown as Node;
  const lines = ['stateDiagram-v2'];
  const edges: string[] = [];
  const notes: string[] = [];
  // Mermaid ids are global within a diagram and cannot contain dots; labels keep the state keys.
  const idOf = (node: Node) => node.id.replace(/^[^.]*\./, '').replace(/[^A-Za-z0-9_]/g, '_');

  const declare = (node: Node, indent: string) => {
    const children = Object.values(node.states);
    const target = (node.initial?.target ?? [])[0];
    if (target) lines.push(`${indent}[*] --> ${idOf(target)}`);
    children.forEach((child, index) => {
      // Parallel regions are separated by `--` inside the parent block.
      if (node.type === 'parallel' && index > 0) lines.push(`${indent}--`);
      const id = idOf(child);
      lines.push(`${indent}state "${child.key}" as ${id}`);
      const invokes = child.invoke.map((invoke) => `invoke ${srcName(invoke)}`);
      const about = child.description ? [mermaidText(child.description)] : [];
      const composite = Object.keys(child.states).length > 0;
      // Mermaid refuses `id : text` on a state with children, so theirs is a note beside the state.
      if (!composite) {
        lines.push(...invokes.map((text) => `${indent}${id} : ${text}`));
        notes.push(...about.map((text) => `${id} : ${text}`));
      } else if (invokes.length + about.length > 0) {
        notes.push(`note right of ${id}`, ...[...invokes, ...about].map((text) => `  ${text}`), 'end note');
      }
      if (composite) {
        lines.push(`${indent}state ${id} {`);
        declare(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${id} --> [*]`);
      collectEdges(child, id);
    });
  };

  const collectEdges = (node: Node, from: string) => {
    const edgeLines = (edge: Edge, label: string) => {
      const guard = guardName(edge.guard);
      const text = guard ? `${label} [${guard}]` : label;
      // A transition without a target runs actions and stays put; draw it as a self-loop.
      const targets = edge.target && edge.target.length > 0 ? edge.target.map(idOf) : [from];
      for (const to of targets) edges.push(`${from} --> ${to} : ${text}`);
    };
    for (const [eventType, list] of node.transitions) for (const edge of list) edgeLines(edge, eventLabel(eventType, node));
    for (const edge of node.always ?? []) edgeLines(edge, 'always');
  };

  declare(root, '  ');
  // Descriptions and edges last, so a line naming a nested state never creates a stray top-level copy of it.
  lines.push(...[...notes, ...edges].map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** A state's description as Mermaid text: `;` ends a Mermaid statement (its entity code fails there too). */
const mermaidText = (text: string) => text.replace(/;/g, ',');

const srcName = ({ id, src }: { id: string; src: unknown }) => (typeof src === 'string' ? src : id);

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'guard';
}

/** Turns XState's internal event types into short labels a reader recognises. */
function eventLabel(eventType: string, node: Node): string {
  const after = node.after.find((a) => a.eventType === eventType);
  if (after) return typeof after.delay === 'number' ? `after ${after.delay} ms` : `after ${after.delay}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  return actor ? `${actor[1]} ${actor[2]}` : eventType;
}

/** The machine definition as plain JSON (what Stately Studio imports). */
export const toDefinition = (machine: AnyStateMachine): unknown => JSON.parse(JSON.stringify(machine.toJSON()));

/** The page inlines mermaid's browser bundle: 84 MB installed, for this one option, so an optional package. */
function mermaidBundlePath(): Promise<string> {
  return withOptionalPackages('`memories machines --html`', ['mermaid'], async () =>
    createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js'),
  );
}

/** One HTML file rendering every diagram offline (mermaid inlined); sets `<body data-rendered>` to 'ok' or 'error'. */
export async function offlinePage(machines = PIPELINE_MACHINES): Promise<string> {
  const mermaidJs = await readFile(await mermaidBundlePath(), 'utf8');
  const section = ({ name, machine }: (typeof machines)[number]) =>
    `<section id="machine-${name}"><h2>${escapeHtml(name)}</h2>\n` +
    `<pre class="mermaid">\n${escapeHtml(toMermaid(machine))}</pre></section>`;
  const sections = machines.map(section).join('\n');
  // A `</script` inside the inlined bundle would end the script element early.
  const inlined = mermaidJs.replace(/<\/script/gi, '<\\/script');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>memories-pipeline statecharts</title>
<style>body { font-family: sans-serif; margin: 1.5rem; } section { margin-bottom: 3rem; }</style>
</head>
<body data-rendered="pending">
<h1>memories-pipeline statecharts</h1>
${sections}
<script>${inlined}</script>
<script>
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', state: { useMaxWidth: false } });
mermaid.run({ querySelector: 'pre.mermaid' }).then(
  () => { document.body.dataset.rendered = 'ok'; },
  (error) => { document.body.dataset.rendered = 'error'; document.body.dataset.error = String(error); },
);
</script>
</body>
</html>
`;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
