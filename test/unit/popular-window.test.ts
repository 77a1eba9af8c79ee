import { isTimeZone, localDay, windowDays } from '../../src/shared/time/window';

describe('popular products: day windows', () => {
  it('counts a sale on the local date of the shop', () => {
    // 15:30 UTC on the 24th is 00:30 on the 25th in Seoul (UTC+9).
    expect(localDay('2026-11-24T15:30:00Z', 'Asia/Seoul')).toBe('2026-11-25');
    expect(localDay('2026-11-24T14:59:59.999Z', 'Asia/Seoul')).toBe('2026-11-24');
    expect(localDay('2026-11-24T15:00:00Z', 'Asia/Seoul')).toBe('2026-11-25');
    expect(localDay('2026-11-24T15:30:00Z', 'UTC')).toBe('2026-11-24');
    expect(localDay('2026-11-25T03:00:00Z', 'America/Los_Angeles')).toBe('2026-11-24');
  });

  it('N = 1 is today only', () => {
    expect(windowDays(new Date('2026-11-24T15:30:00Z'), 1, 'Asia/Seoul')).toEqual(['2026-11-25']);
  });

  it('N = 3 ends today, oldest first', () => {
    expect(windowDays(new Date('2026-11-25T00:00:00Z'), 3, 'UTC')).toEqual(['2026-11-23', '2026-11-24', '2026-11-25']);
  });

  it('N = 30 crosses month and year boundaries without gaps', () => {
    const days = windowDays(new Date('2026-01-10T12:00:00Z'), 30, 'Asia/Seoul');
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2025-12-12');
    expect(days.at(-1)).toBe('2026-01-10');
    expect(new Set(days).size).toBe(30);
    const gaps = days.slice(1).map((d, i) => Date.parse(d) - Date.parse(days[i]));
    expect(new Set(gaps)).toEqual(new Set([86_400_000]));
  });

  it('keeps one entry per day across a daylight-saving change', () => {
    // Europe/Berlin leaves summer time on 2026-10-25.
    expect(windowDays(new Date('2026-10-26T12:00:00Z'), 3, 'Europe/Berlin')).toEqual(['2026-10-24', '2026-10-25', '2026-10-26']);
  });

  it('handles leap days', () => {
    expect(windowDays(new Date('2028-03-01T05:00:00Z'), 2, 'UTC')).toEqual(['2028-02-29', '2028-03-01']);
  });

  it('knows real time zones from typos', () => {
    expect(isTimeZone('Asia/Seoul')).toBe(true);
    expect(isTimeZone('Asia/Seol')).toBe(false);
  });
});
