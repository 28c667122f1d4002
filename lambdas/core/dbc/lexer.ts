/**
 * DBC tokenizer. Follows the token classes of the reference grammar (numbers, words, strings with `\"`
 * escapes, punctuation, `//` line comments) but never throws: odd characters become `bad` tokens that the
 * statement parser reports with their position, and loose forms (`.25`, `1.`, names starting with a digit)
 * are recognised and flagged so the parser can warn about them.
 */

/** Token kinds. */
export type TokenKind = 'word' | 'num' | 'str' | 'punct' | 'sign' | 'bad' | 'eof';

/** One token. `nl` is true when a line break separates it from the previous token. */
export interface Token {
  kind: TokenKind;
  /** Text (strings: unquoted and unescaped; punctuation/sign: the character). */
  value: string;
  /** Offset of the first character in the source text. */
  pos: number;
  /** A line break precedes this token (or it is the first token). */
  nl: boolean;
  /** Number written in a loose form (`.25`, `5.`); strings left unterminated at end of line. */
  loose?: boolean;
}

const PUNCT = new Set(['(', ')', '[', ']', ',', '|', '@', ';', ':']);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 ||
    // Non-ASCII letters appear in hand-edited files (umlauts in names); keep them inside the word.
    (c > 0x7f && c !== 0xa0 && c !== 0xfeff && c !== 0x2028 && c !== 0x2029)
  );
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 0xfeff;
}

/** Tokenize DBC text. Always ends with an `eof` token. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const n = src.length;
  let i = 0;
  let nl = true;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (isSpace(c)) {
      if (c === 10 || c === 13) nl = true;
      i++;
      continue;
    }
    const start = i;
    // `//` comment up to end of line.
    if (c === 47 && src.charCodeAt(i + 1) === 47) {
      while (i < n && src.charCodeAt(i) !== 10 && src.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 34) {
      // String: `\"` is an escaped quote (other backslashes are literal), newlines allowed.
      i++;
      let out = '';
      let segStart = i;
      let closed = false;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (d === 92 && src.charCodeAt(i + 1) === 34) {
          out += src.slice(segStart, i) + '"';
          i += 2;
          segStart = i;
          continue;
        }
        if (d === 34) {
          out += src.slice(segStart, i);
          i++;
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) {
        // Unterminated: take the rest of the line, resume after it.
        let eol = segStart;
        while (eol < n && src.charCodeAt(eol) !== 10 && src.charCodeAt(eol) !== 13) eol++;
        tokens.push({ kind: 'str', value: src.slice(segStart, eol), pos: start, nl, loose: true });
        i = eol;
        nl = false;
        continue;
      }
      tokens.push({ kind: 'str', value: out, pos: start, nl });
      nl = false;
      continue;
    }
    const next = src.charCodeAt(i + 1);
    const signed =
      (c === 43 || c === 45) && (isDigit(next) || (next === 46 && isDigit(src.charCodeAt(i + 2))));
    if (isDigit(c) || signed || (c === 46 && isDigit(next))) {
      let j = signed ? i + 1 : i;
      const intStart = j;
      while (j < n && isDigit(src.charCodeAt(j))) j++;
      const intDigits = j - intStart;
      let hasDot = false;
      let fracDigits = 0;
      if (src.charCodeAt(j) === 46) {
        hasDot = true;
        j++;
        while (j < n && isDigit(src.charCodeAt(j))) {
          j++;
          fracDigits++;
        }
      }
      let hasExp = false;
      const e = src.charCodeAt(j);
      if (e === 101 || e === 69) {
        let k = j + 1;
        const s = src.charCodeAt(k);
        if (s === 43 || s === 45) k++;
        if (isDigit(src.charCodeAt(k))) {
          while (k < n && isDigit(src.charCodeAt(k))) k++;
          j = k;
          hasExp = true;
        }
      }
      if (!signed && !hasDot && !hasExp && j < n && isWordChar(src.charCodeAt(j))) {
        // `1abc`, `0x1F`, `2nd_gear`: a word that starts with a digit.
        while (j < n && isWordChar(src.charCodeAt(j))) j++;
        tokens.push({ kind: 'word', value: src.slice(start, j), pos: start, nl });
      } else {
        const tok: Token = { kind: 'num', value: src.slice(start, j), pos: start, nl };
        if (intDigits === 0 || (hasDot && fracDigits === 0)) tok.loose = true;
        tokens.push(tok);
      }
      i = j;
      nl = false;
      continue;
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(src.charCodeAt(j))) j++;
      tokens.push({ kind: 'word', value: src.slice(start, j), pos: start, nl });
      i = j;
      nl = false;
      continue;
    }
    const ch = src[i]!;
    if (PUNCT.has(ch)) tokens.push({ kind: 'punct', value: ch, pos: start, nl });
    else if (c === 43 || c === 45) tokens.push({ kind: 'sign', value: ch, pos: start, nl });
    else tokens.push({ kind: 'bad', value: ch, pos: start, nl });
    i++;
    nl = false;
  }
  tokens.push({ kind: 'eof', value: '', pos: n, nl: true });
  return tokens;
}

/** Maps offsets to 1-based line/column (computed once, binary search per lookup). */
export class LineMap {
  private readonly starts: number[];
  constructor(src: string) {
    const starts = [0];
    for (let i = 0; i < src.length; i++) {
      const c = src.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13 && src.charCodeAt(i + 1) !== 10) starts.push(i + 1);
    }
    this.starts = starts;
  }
  /** 1-based line and column of `pos`. */
  locate(pos: number): { line: number; column: number } {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: pos - s[lo]! + 1 };
  }
}
