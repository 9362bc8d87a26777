// Entry of the request-builder worker thread. A worker does not inherit the TypeScript loader of
// the thread that started it (tsx, or vitest's), so it registers tsx itself.
import { register } from 'tsx/esm/api';

register();
await import('./request-builder-worker.ts');
