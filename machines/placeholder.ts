import { fromPromise } from 'xstate';

/** A named actor slot that services/ must fill with `machine.provide({ actors })`. */
export function placeholder<TOutput, TInput>(machine: string, name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`${machine} actor '${name}' was not provided`);
  });
}
