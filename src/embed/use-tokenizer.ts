/**
 * USE-lite's SentencePiece tokenization, token for token what @energetic-ai/embeddings' `Tokenizer.encode`
 * returns (the vectors, and so the embedding cache and trained artifacts, depend on it), ~10× faster:
 * the library copies the rest of the text at every position (quadratic in its length) and builds an
 * object per candidate piece; here the trie is walked in place and the best segmentation kept as it goes.
 * On the evaluation texts here that was ~3.5 of ~40 CPU ms per text.
 */

/** A node of the library's vocabulary trie (`Tokenizer.trie`): `word` = [piece's characters, score, id]. */
interface TrieNode {
  children: Record<string, TrieNode | undefined>;
  end: boolean;
  word: [string[], number, number];
}

/** The parts of the library's `Tokenizer` this reads (its typings mark `vocabulary` private). */
export interface UseVocabulary {
  trie: { root: TrieNode };
  vocabulary: Array<[string, number]>;
}

/** Word separator SentencePiece puts in place of spaces (and before the text). */
const SEPARATOR = "\u2581";
/** Id of the unknown piece. */
const UNKNOWN = 0;

/**
 * Token ids of `input`. The library's quirks are kept on purpose, because they decide the ids: a score is
 * replaced when it is exactly 0 or a later candidate ties it; a character no piece starts with becomes
 * the unknown piece (runs of them one id); and the backtrack steps by the UTF-16 length of the chosen
 * piece's text while positions count code points.
 */
export function encodeUse(vocab: UseVocabulary, input: string): number[] {
  const normalized = input.normalize("NFKC");
  const text = normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized;
  const symbols = [...text];
  const n = symbols.length;
  // Best score of a segmentation of symbols[0, end) and the id of its last piece (the library's
  // Viterbi, run forward: every piece starting at i is scored once best[i] is final).
  const best = new Float64Array(n + 1);
  const last = new Int32Array(n + 1);
  const offer = (end: number, score: number, id: number) => {
    if (best[end] === 0 || score >= best[end]) {
      best[end] = score;
      last[end] = id;
    }
  };
  const root = vocab.trie.root;
  for (let i = 0; i < n; i++) {
    let node = root.children[symbols[i]];
    let matched = false;
    for (let j = 0; i + j < n && node; j++) {
      if (node.end) {
        matched = true;
        offer(i + j + 1, best[i] + node.word[1], node.word[2]);
      }
      node = node.children[symbols[i + j + 1]];
    }
    if (!matched) offer(i + 1, best[i], UNKNOWN);
  }
  const reversed: number[] = [];
  for (let at = n; at > 0; at -= vocab.vocabulary[last[at]][0].length) reversed.push(last[at]);
  const ids: number[] = [];
  let previousUnknown = false;
  for (const id of reversed) {
    if (!(previousUnknown && id === UNKNOWN)) ids.push(id);
    previousUnknown = id === UNKNOWN;
  }
  return ids.reverse();
}
