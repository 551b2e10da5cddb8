// One row order for every sortable table: numbers by value, text by locale, empty cells last.
export function compareBy<R extends Record<string, unknown>>(key: string, desc: boolean): (a: R, b: R) => number {
  const dir = desc ? -1 : 1
  return (a, b) => {
    const x = a[key]
    const y = b[key]
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1
    if (y === null || y === undefined) return -1
    if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir
    return String(x).localeCompare(String(y)) * dir
  }
}
