// The lease heartbeat beside a job's work in a parallel state. A failed renewal is tried at the next beat
// (the lease outlasts a few missed ones). The machine provides `heartbeat`, `renewLease`, `leaseHeld`, `noteLeaseLost`.

export function leaseRegion<C, Claim>(machineId: string, claimOf: (context: C) => Claim) {
  return {
    description: 'Keeps the lease alive while the work runs.',
    initial: 'held',
    states: {
      held: { description: 'Waits one heartbeat.', after: { heartbeat: 'renewing' } },
      renewing: {
        description: 'Renews the lease; gone means another worker took it.',
        invoke: {
          id: 'renewLease',
          src: 'renewLease',
          input: ({ context }: { context: C }) => ({ claim: claimOf(context) }),
          onDone: [
            { guard: { type: 'leaseHeld', params: ({ event }: { event: { output: boolean } }) => event.output }, target: 'held' },
            { target: `#${machineId}.leaseLost`, actions: 'noteLeaseLost' },
          ],
          onError: { target: 'held' },
        },
      },
    },
  } as const;
}
