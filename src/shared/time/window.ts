/**
 * Calendar days in the shop's time zone. Sales are counted per local day (a sale at 23:30 in
 * Seoul belongs to that Seoul date even though it is still the afternoon in UTC), and "the last
 * N days" means today and the N-1 local days before it.
 */
export type Day = string; // YYYY-MM-DD

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    // en-CA formats dates as YYYY-MM-DD.
    found = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, found);
  }
  return found;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function localDay(instant: Date | string, timeZone: string): Day {
  return formatter(timeZone).format(typeof instant === 'string' ? new Date(instant) : instant);
}

/** The `days` local days ending today, oldest first. Date arithmetic on the calendar date, so DST cannot skip or repeat a day. */
export function windowDays(now: Date, days: number, timeZone: string): Day[] {
  if (!Number.isInteger(days) || days < 1) throw new Error('a window has at least one day');
  const [year, month, day] = localDay(now, timeZone).split('-').map(Number);
  return Array.from({ length: days }, (_, i) => new Date(Date.UTC(year, month - 1, day - (days - 1 - i))).toISOString().slice(0, 10));
}
