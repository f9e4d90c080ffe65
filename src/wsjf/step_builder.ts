/**
 * Describing the step tree: `SequenceBuilder` adds sequence calls, numeric, pass/fail, string
 * and action steps; `StepBuilder` adds measurements, a verdict, text, a chart or an attachment
 * to one step. They record what the file says (nodes); the report builder finishes them into
 * WSJF steps (finish_step.ts).
 *
 * @module
 */
import { ConversionError } from "../convert/conversion_error.ts";
import { MAX_STEP_DEPTH } from "./rules.ts";
import type {
  AttachmentInput,
  ChartInput,
  NumericInput,
  PassFailInput,
  SequenceOptions,
  StepOptions,
  StringInput,
} from "./build_input.ts";

/** The kind of step a node becomes. */
export type Kind = "sequence" | "numeric" | "boolean" | "string" | "action";

/** A step as the converter described it, until `build()` turns it into WSJF. */
export interface Node {
  kind: Kind;
  name: string;
  opts: StepOptions;
  multi: boolean;
  numeric: NumericInput[];
  boolean: PassFailInput[];
  string: StringInput[];
  children: Node[];
  seq?: { path?: string; version?: string; sequenceName?: string };
  depth: number;
  /** Notes for the reportText (non-finite values); allocated when needed. */
  textNotes?: string[];
  /** Step id, set by `build()`. */
  id: number;
}

/** A step being built: add measurements, set its verdict, text, chart or attachment. */
export class StepBuilder {
  /** @internal */
  readonly node: Node;

  /** @internal */
  constructor(node: Node) {
    this.node = node;
  }

  /** The step name. */
  get name(): string {
    return this.node.name;
  }

  /** Adds a numeric measurement (the step becomes a multi-measurement step if it has two). */
  addNumeric(m: NumericInput): this {
    this.requireKind("numeric");
    this.node.numeric.push({ ...m });
    return this;
  }

  /** Adds a pass/fail measurement. */
  addPassFail(m: PassFailInput): this {
    this.requireKind("boolean");
    this.node.boolean.push({ ...m });
    return this;
  }

  /** Adds a string measurement. */
  addString(m: StringInput): this {
    this.requireKind("string");
    this.node.string.push({ ...m });
    return this;
  }

  /** Sets the file's verdict for this step. */
  setStatus(status: string | undefined): this {
    this.node.opts.status = status;
    return this;
  }

  /** Merges further step options (later values win). */
  set(opts: StepOptions): this {
    Object.assign(this.node.opts, opts);
    return this;
  }

  /** Appends a line to the step's reportText. */
  appendText(text: string): this {
    const t = this.node.opts.reportText;
    this.node.opts.reportText = t ? `${t}\n${text}` : text;
    return this;
  }

  /** Sets the step's chart (a numeric step with a chart is labelled WATS_XYGMNLT). */
  chart(chart: ChartInput): this {
    this.node.opts.chart = chart;
    return this;
  }

  /** Sets the step's attachment. */
  attach(attachment: AttachmentInput): this {
    this.node.opts.attachment = attachment;
    return this;
  }

  private requireKind(kind: Kind): void {
    const n = this.node;
    if (n.kind === kind) return;
    const others = (["numeric", "boolean", "string"] as const).filter((k) =>
      k !== kind && n[k].length > 0
    );
    if (others.length === 0 && (n.kind === "action" || n.kind === "sequence")) {
      // A generic step (or a sequence such as NI_Wait) takes the first measurement kind added.
      if (n.kind === "action") n.kind = kind;
      return;
    }
    throw new Error(
      `builder misuse: step "${n.name}" holds ${n.kind} measurements; it can't also hold ${kind}`,
    );
  }
}

/** A sequence call step: add child steps to it. */
export class SequenceBuilder extends StepBuilder {
  /** Adds a nested sequence call and returns it. */
  sequence(name: string, opts: SequenceOptions = {}): SequenceBuilder {
    const { path, version, sequenceName, ...rest } = opts;
    const node = this.child("sequence", name, rest);
    node.seq = { path, version, sequenceName };
    return new SequenceBuilder(node);
  }

  /** Adds a single numeric limit step (ET_NLT). */
  numeric(name: string, m: NumericInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("numeric", name, opts);
    node.numeric.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple numeric limit step (ET_MNLT); more measurements via `addNumeric`. */
  multiNumeric(name: string, ms: NumericInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("numeric", name, opts, true);
    node.numeric.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /** Adds a single pass/fail step (ET_PFT). */
  passFail(name: string, m: PassFailInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("boolean", name, opts);
    node.boolean.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple pass/fail step (ET_MPFT). */
  multiPassFail(name: string, ms: PassFailInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("boolean", name, opts, true);
    node.boolean.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /** Adds a single string value step (ET_SVT). */
  string(name: string, m: StringInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("string", name, opts);
    node.string.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple string value step (ET_MSVT). */
  multiString(name: string, ms: StringInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("string", name, opts, true);
    node.string.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /**
   * Adds a step without measurements (default type "Action", status "D" unless the file
   * says otherwise). Use `opts.stepType` for other generic steps (Label, MessagePopup, …).
   */
  action(name: string, opts: StepOptions = {}): StepBuilder {
    return new StepBuilder(this.child("action", name, opts));
  }

  private child(kind: Kind, name: string, opts: StepOptions, multi = false): Node {
    const depth = this.node.depth + 1;
    if (depth > MAX_STEP_DEPTH) {
      throw new ConversionError(
        `steps are nested more than ${MAX_STEP_DEPTH} levels deep (at "${name}")`,
        "Check that every sequence in the file is closed.",
      );
    }
    const node = newNode(kind, name, { ...opts }, depth);
    node.multi = multi;
    this.node.children.push(node);
    return node;
  }
}

/** A new, empty step node. */
export function newNode(kind: Kind, name: string, opts: StepOptions, depth: number): Node {
  return {
    kind,
    name,
    opts,
    multi: false,
    numeric: [],
    boolean: [],
    string: [],
    children: [],
    depth,
    id: 0,
  };
}
