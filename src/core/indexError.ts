/** The error of the index that carries a message the user can act on (the CLI prints it, exit 1). */
export class IndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexError';
  }
}
