/// <reference types="node" preserve="true" />
/**
 * Progress events, shared by every capability: `onProgress(event)` is called on the main thread
 * about ten times a second, and once more with the final counts before the call settles.
 */
import type { ProgressEvent as BindingProgressEvent, ProgressStage } from '../binding'

/**
 * What a long call is doing (generated from the Rust `ProgressStage`). Each capability reports a
 * few of them: the profiler `walk`, dataset builds `parse` then `write`, the generators
 * `generate`, and so on; each call documents the unit of `done` and `total` per stage.
 */
export type Stage = ProgressStage

/**
 * One progress report: `done` of `total` units (entries, rows, bytes: each call documents its
 * unit; `total` is `null` when not known in advance), `bytes` when the stage counts bytes, and
 * `current`, what is being worked on (a folder, a table name).
 */
export interface ProgressEvent<S extends Stage = Stage> extends Omit<BindingProgressEvent, 'stage'> {
  /** What is running. */
  stage: S
}

/** An `onProgress` listener for the stages `S`. */
export type ProgressListener<S extends Stage = Stage> = (event: ProgressEvent<S>) => void
