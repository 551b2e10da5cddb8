// The supervisor's date range, shared by the report tabs; `version` bumps on "apply".
export interface Range {
  from: string
  to: string
  version: number
}
