// The records pages' pure helpers (components/records/query.js).
import { describe, expect, it } from 'vitest'
import { emptyFilters, queryString, showSecs, toParams, today } from '../src/components/records/query.js'

describe('records query', () => {
  it('leaves empty fields out and keeps the rest as text', () => {
    const f = emptyFilters({ dates: ['2026-12-01', '2026-12-02'], number: ' 138 ', min_wait: 30, recorded: 'true' })
    expect(toParams(f)).toEqual({ from: '2026-12-01', to: '2026-12-02', number: '138', min_wait: '30', recorded: 'true' })
    expect(toParams(emptyFilters())).toEqual({})
    expect(queryString({ number: "' OR 1=1" }, { limit: 20 })).toBe('?number=%27+OR+1%3D1&limit=20')
    expect(queryString({})).toBe('')
  })

  it('shows durations and today', () => {
    expect(showSecs(65)).toBe('1:05')
    expect(showSecs(3725)).toBe('1:02:05')
    expect(showSecs(null)).toBe('-')
    expect(today(new Date(2026, 11, 1, 23, 59))).toBe('2026-12-01')
  })
})
