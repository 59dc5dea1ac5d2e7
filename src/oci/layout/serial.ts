// Runs read-modify-write steps one after another. index.json is rewritten whole, so two concurrent
// updates (two tags pushed at once) would otherwise each start from the old file and one would be lost.
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(step, step);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
