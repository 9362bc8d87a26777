// The five instruments on an OpenTelemetry meter, and one run's measurements recorded on them.
import { type Counter, type Histogram, type Meter, ValueType } from '@opentelemetry/api';
import { INSTRUMENTS, type InstrumentName, type Measurement } from './instruments.ts';

// A run's phase-1 tokens run from hundreds to millions; the SDK's default buckets stop at 10,000. Boundaries
// change no name or value, only how finely a dashboard can read the histogram.
const TOKEN_BUCKETS = [0, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000];

export class MetricsRecorder {
  private readonly counters = new Map<InstrumentName, Counter>();
  private readonly histograms = new Map<InstrumentName, Histogram>();

  constructor(meter: Meter) {
    for (const { name, kind, description } of INSTRUMENTS) {
      if (kind === 'counter') this.counters.set(name, meter.createCounter(name, { description, valueType: ValueType.INT }));
      else {
        const advice = { explicitBucketBoundaries: TOKEN_BUCKETS };
        this.histograms.set(name, meter.createHistogram(name, { description, valueType: ValueType.INT, advice }));
      }
    }
  }

  record(measurements: Measurement[]): void {
    for (const { instrument, value, tags } of measurements) {
      const counter = this.counters.get(instrument);
      if (counter) counter.add(value, tags);
      else this.histograms.get(instrument)?.record(value, tags);
    }
  }
}
