/**
 * A pipeline of three greenlets (producer → filter → consumer) that hand each value straight to the next by switching.
 * Run: npx tsx examples/pipeline.ts   → prints the words the consumer received, in order, their counts, a total line,
 * and that all three stages have finished.
 *
 * No queue and no scheduler sit between the stages: `yield* filter.switch(word)` suspends
 * the producer and resumes the filter at once, with the word. Each value travels the
 * whole pipeline before the next one is read, so nothing is buffered.
 *
 * The consumer drives: it switches to the filter whenever it wants the next word, the
 * filter switches to the producer until it gets a word worth keeping, and passes that on.
 * End of stream needs no extra protocol: each stage's parent is the stage downstream of
 * it, so when the producer runs out of words its `run` returns, and the end-of-stream
 * marker it returns arrives at the filter as the value of its pending switch; the filter
 * returns it to the consumer the same way, and the consumer returns its summary to main.
 */
import { Greenlet, type GreenletBody } from 'greenlet-ts';

const text = `
  A greenlet runs until it switches to another greenlet. The other greenlet runs until
  it switches back, and no scheduler stands between the two: each switch names the
  greenlet that runs next, and the value it carries arrives with it.
`;

const STOP_WORDS = new Set(['a', 'and', 'back', 'between', 'each', 'it', 'no', 'that', 'the', 'to', 'two', 'until', 'with']);

/** What the producer returns when it has no more words; the stages downstream return it too. */
const END_OF_STREAM: unique symbol = Symbol('end of stream');

/** What travels from the producer to the consumer. */
type Item = string | typeof END_OF_STREAM;

interface Summary {
  /** The words that reached the consumer, in arrival order. */
  readonly words: string[];
  /** How often each of them arrived, in order of first arrival. */
  readonly counts: Map<string, number>;
}

// Built downstream first, because a stage's parent is the stage after it: that is where
// its return value (the end-of-stream marker) goes.
const consumer: Greenlet<[], Summary> = new Greenlet(function* (): GreenletBody<Summary> {
  const words: string[] = [];
  const counts = new Map<string, number>();
  for (;;) {
    const item = yield* filter.switch<Item>();
    if (item === END_OF_STREAM) return { words, counts };
    words.push(item);
    counts.set(item, (counts.get(item) ?? 0) + 1);
  }
});

const filter: Greenlet<[], typeof END_OF_STREAM> = new Greenlet(function* (): GreenletBody<typeof END_OF_STREAM> {
  for (;;) {
    const item = yield* producer.switch<Item>();
    if (item === END_OF_STREAM) return item;
    if (!STOP_WORDS.has(item)) yield* consumer.switch(item);
  }
}, consumer);

const producer: Greenlet<[], typeof END_OF_STREAM> = new Greenlet(function* (): GreenletBody<typeof END_OF_STREAM> {
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    yield* filter.switch(word);
  }
  return END_OF_STREAM;
}, filter);

// Starting the consumer starts the whole pipeline; the switch returns once the consumer
// has returned its summary.
const { words, counts } = consumer.switch<Summary>();

const byFrequency = [...counts].sort(([, a], [, b]) => b - a);
console.log(`received: ${words.join(' ')}`);
console.log(`counts:   ${byFrequency.map(([word, count]) => `${word} ${count}`).join(', ')}`);
console.log(`total:    ${words.length} words, ${counts.size} distinct`);
console.log(`finished: producer ${producer.dead}, filter ${filter.dead}, consumer ${consumer.dead}`);
