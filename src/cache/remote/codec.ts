// TEMPORARY stand-in until the codec lands (not committed).
export interface EntryEnvelope {
  readonly key: string;
  readonly generation: string;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly value: unknown;
}
export function encodeEntry(entry: EntryEnvelope): string | { refused: string } {
  try {
    return `tmp:${JSON.stringify(entry)}`;
  } catch (e) {
    return { refused: String(e) };
  }
}
export function decodeEntry(
  text: unknown,
  key: string,
  generation: string,
): EntryEnvelope | { miss: string } {
  if (typeof text !== 'string' || !text.startsWith('tmp:')) return { miss: 'foreign' };
  try {
    const e = JSON.parse(text.slice(4));
    if (e.key !== key) return { miss: 'other-key' };
    if (e.generation !== generation) return { miss: 'other-generation' };
    return e;
  } catch {
    return { miss: 'corrupt' };
  }
}
