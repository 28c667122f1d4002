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

/**
 * Streaming tokenizer: tokens are produced on demand, so memory stays flat however large the file
 * (an 8 MiB DBC has millions of tokens). After the end it keeps returning an `eof` token.
 */
export class Lexer {
  private i = 0;
  private nl = true;
  private readonly n: number;

  constructor(private readonly src: string) {
    this.n = src.length;
  }

  /** The next token. */
  next(): Token {
    const src = this.src;
    const n = this.n;
    let i = this.i;
    let nl = this.nl;
    let tok: Token | undefined;
    while (i < n && tok === undefined) {
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
          tok = { kind: 'str', value: src.slice(segStart, eol), pos: start, nl, loose: true };
          i = eol;
        } else {
          tok = { kind: 'str', value: out, pos: start, nl };
        }
        break;
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
          const sg = src.charCodeAt(k);
          if (sg === 43 || sg === 45) k++;
          if (isDigit(src.charCodeAt(k))) {
            while (k < n && isDigit(src.charCodeAt(k))) k++;
            j = k;
            hasExp = true;
          }
        }
        if (!signed && !hasDot && !hasExp && j < n && isWordChar(src.charCodeAt(j))) {
          // `1abc`, `0x1F`, `2nd_gear`: a word that starts with a digit.
          while (j < n && isWordChar(src.charCodeAt(j))) j++;
          tok = { kind: 'word', value: src.slice(start, j), pos: start, nl };
        } else {
          tok = { kind: 'num', value: src.slice(start, j), pos: start, nl };
          if (intDigits === 0 || (hasDot && fracDigits === 0)) tok.loose = true;
        }
        i = j;
        break;
      }
      if (isWordChar(c)) {
        let j = i + 1;
        while (j < n && isWordChar(src.charCodeAt(j))) j++;
        tok = { kind: 'word', value: src.slice(start, j), pos: start, nl };
        i = j;
        break;
      }
      const ch = src[i]!;
      if (PUNCT.has(ch)) tok = { kind: 'punct', value: ch, pos: start, nl };
      else if (c === 43 || c === 45) tok = { kind: 'sign', value: ch, pos: start, nl };
      else tok = { kind: 'bad', value: ch, pos: start, nl };
      i++;
    }
    this.i = i;
    if (tok === undefined) {
      this.nl = true;
      return { kind: 'eof', value: '', pos: n, nl: true };
    }
    this.nl = false;
    return tok;
  }
}

/** Tokenize DBC text into an array (ends with an `eof` token). */
export function tokenize(src: string): Token[] {
  const lexer = new Lexer(src);
  const out: Token[] = [];
  for (;;) {
    const t = lexer.next();
    out.push(t);
    if (t.kind === 'eof') return out;
  }
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
