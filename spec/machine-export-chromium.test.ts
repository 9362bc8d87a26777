// The offline page must actually render: every state of every machine has to be in the SVG that
// mermaid drew in a real browser, with no network, not merely in the diagram source.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlinePage, PIPELINE_MACHINES, stateNames } from '../services/inspect/machine-export.ts';
import { dumpDom } from './support/chromium.ts';

let dir: string;
let html: string;
let dom: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'machines-page-'));
  html = await offlinePage();
  const page = join(dir, 'machines.html');
  await writeFile(page, html);
  dom = await dumpDom(pathToFileURL(page).href);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The SVG mermaid drew for one machine, or '' when there is none. */
function renderedSvg(name: string): string {
  const section = new RegExp(`<section id="machine-${name}">([\\s\\S]*?)</section>`).exec(dom)?.[1] ?? '';
  return /<svg[\s\S]*<\/svg>/.exec(section)?.[0] ?? '';
}

/** The text a reader sees in that SVG (tags and CSS stripped). */
function renderedText(name: string): string {
  return renderedSvg(name)
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

describe('memories machines --html page in headless Chromium', () => {
  it('loads nothing from the network', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
  });

  it('finishes rendering without a mermaid error', () => {
    expect(/<body data-rendered="(\w+)"/.exec(dom)?.[1]).toBe('ok');
    // On a parse error mermaid draws an error diagram in place of the state diagram.
    const kinds = PIPELINE_MACHINES.map(({ name }) => /aria-roledescription="(\w+)"/.exec(renderedSvg(name))?.[1]);
    expect(kinds).toEqual(PIPELINE_MACHINES.map(() => 'stateDiagram'));
  });

  it('shows what each state does, as the inspector does', () => {
    expect(renderedText('extraction')).toContain('Waits for the model to reply to the built request.');
    // A state with children carries its description and invoke in a note.
    expect(renderedText('daemon')).toContain('invoke watchRollouts');
    expect(renderedText('daemon')).toContain('Watches the sessions folder and runs the pipeline, one run at a time.');
  });

  for (const { name, machine } of PIPELINE_MACHINES) {
    it(`draws every state of the ${name} machine`, () => {
      const text = renderedText(name);
      expect(text.length, `no SVG was rendered for ${name}`).toBeGreaterThan(0);
      const missing = stateNames(machine).filter((state) => !new RegExp(`(^|\\W)${state}(\\W|$)`).test(text));
      expect(missing).toEqual([]);
    });
  }
});
