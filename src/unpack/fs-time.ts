/**
 * A layer entry's time (seconds since 1970, fractional, possibly negative) in the form
 * Node's `utimes`/`futimes`/`lutimes` keep as it is. Node turns a negative number into
 * the current time (`toUnixTimestamp` in lib/internal/fs/utils.js) but takes a Date as
 * given, so a time before 1970 goes as a Date (milliseconds are all a Date holds, and all
 * such dates carry); every other time stays a number, which keeps microseconds.
 */
export function fsTime(seconds: number): number | Date {
  return seconds < 0 ? new Date(seconds * 1000) : seconds;
}
