// The device end of a byte link, as the simulator wires it to a serial device (Serial1) and as test
// gateways use the other end. Every link kind (memory pair, pty, TCP, faulty wrapper) offers this.

export interface LinkEnd {
  /** send bytes to the other end */
  write(bytes: Uint8Array): void;
  /** receive bytes from the other end; returns an unsubscribe function */
  onData(cb: (bytes: Uint8Array) => void): () => void;
  /** release the link (sockets, ptys); further writes are dropped */
  close(): void;
}

/** Small helper for link implementations: a list of data listeners. */
export class DataListeners {
  private ls: Array<(b: Uint8Array) => void> = [];
  add(cb: (b: Uint8Array) => void): () => void {
    this.ls.push(cb);
    return () => {
      this.ls = this.ls.filter((x) => x !== cb);
    };
  }
  emit(b: Uint8Array): void {
    for (const l of this.ls.slice()) l(b);
  }
  get size(): number {
    return this.ls.length;
  }
}
