/**
 * A bounded async queue: what a producer pushes, a reader pulls. A reader that falls more than `limit`
 * items behind ends the stream (its buffer is dropped) and `onOverflow` decides what else to do;
 * memory never grows without bound. `onEnd` runs once, however the stream ends.
 */
export function boundedStream<T>(limit: number, onOverflow: () => void, onEnd: () => void) {
  const queue: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    queue.length = 0;
    onEnd();
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      end();
      return Promise.resolve({ value: undefined, done: true });
    },
  };
  return {
    iterator,
    push(result: T) {
      if (done) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: result, done: false });
        return;
      }
      queue.push(result);
      if (queue.length > limit) {
        end();
        onOverflow();
      }
    },
  };
}

