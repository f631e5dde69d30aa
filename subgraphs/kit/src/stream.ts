/**
 * A bounded async queue: what a producer pushes, a reader pulls, in push order. A reader that falls
 * more than `limit` items behind ends the stream (its buffer is dropped) and `onOverflow` decides
 * what else to do; memory never grows without bound. `onEnd` runs once, however the stream ends.
 *
 * An item may be a promise still being settled (an event still being resolved): the reader gets it
 * once it settles and never an item pushed after it earlier, while the producer goes on pushing, so
 * one slow item holds up only its own stream. Items not yet settled count toward the limit.
 */
export function boundedStream<T>(limit: number, onOverflow: () => void, onEnd: () => void) {
  const queue: (T | PromiseLike<T>)[] = [];
  let waiting: ((result: IteratorResult<T> | PromiseLike<IteratorResult<T>>) => void) | undefined;
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    queue.length = 0;
    onEnd();
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  // An item that settles after the stream ended is not handed out.
  const settle = (item: T | PromiseLike<T>): Promise<IteratorResult<T>> =>
    Promise.resolve(item).then((value) => (done ? { value: undefined, done: true } : { value, done: false }));
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (queue.length > 0) return settle(queue.shift()!);
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
    push: (result: T | PromiseLike<T>) => {
      if (done) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve(settle(result));
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
