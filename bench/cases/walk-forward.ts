export async function walkForward(_argv: string[]): Promise<void> { throw new Error("todo"); }
