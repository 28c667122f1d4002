/**
 * English issue messages for zod/mini schemas. Full zod registers them when its first schema is built;
 * zod/mini leaves them out (every issue reads "Invalid input") unless asked. The alert schemas are
 * user-facing (API 400 answers, configuration errors), so modules using zod/mini import this for its
 * side effect. A locale already chosen elsewhere (`z.config(...)`) is kept.
 */
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

if (!z.config().localeError) z.config(en());
