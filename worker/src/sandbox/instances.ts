import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from "quickjs-emscripten";

/** The parts of the WebAssembly API used here (the project's lib has no DOM/WebAssembly typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<object>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** One QuickJS WASM instance with a linear memory of its own. */
export interface EngineInstance {
  module: QuickJSWASMModule;
  memory: WasmMemory;
  /** The memory's hard maximum in bytes. */
  maxBytes: number;
  /** Set when the engine asked for more memory than the maximum: an allocation failed for lack of it. */
  exhausted: boolean;
}

const PAGE = 65536;
/** Growth steps emscripten_resize_heap tries before it fails an allocation (release-sync build). */
const RESIZE_ATTEMPTS = 3;
/** The release-sync build's own initial memory (static data, C stack, first heap pages). */
export const ENGINE_BASE_BYTES = 16 * 1024 * 1024;
/** An instance that grew more than this past its base memory is dropped after its run (WASM memory never shrinks). */
const RETAIN_GROWTH_BYTES = 8 * 1024 * 1024;
/** Memory cap of the instance made at load (the default `limits.memoryBytes`). */
const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;
/** Idle instances kept per memory size (each holds ENGINE_BASE_BYTES reserved, a few MiB resident). */
const MAX_IDLE = 4;

const require = createRequire(import.meta.url);

/** Compiles the QuickJS release-sync WASM module (~0.3 s; do it once per process). */
export function compileEngine(): Promise<object> {
  return wasmApi.compile(readFileSync(require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm")));
}

/**
 * QuickJS engine instances with a capped linear memory. The release build cannot account its heap
 * (`malloc_usable_size` is unavailable in its allocator), so QuickJS's own memory limit only refuses
 * single large allocations: many small ones grow the WASM memory without bound (2 GiB under a 4 MiB
 * limit was measured). Here every instance gets a `WebAssembly.Memory` whose maximum is the run's
 * `memoryBytes` plus the engine's base: growing past it fails, the allocation fails and QuickJS
 * raises out-of-memory, whatever the allocation pattern. An instance serves one run at a time, so a
 * run that exhausts, traps or aborts its engine (a `list_empty(&rt->gc_obj_list)` assertion, a V8
 * stack overflow inside WASM) loses only its own instance. Instances that stayed small are reused
 * (creating one costs ~1.5 ms); grown or broken ones are dropped, which returns their memory.
 */
export class EngineInstances {
  readonly #idle = new Map<number, EngineInstance[]>();
  #created = 0;

  private constructor(private readonly wasm: object) {}

  /** @param wasm an already compiled module (WebAssembly.Module can be sent to threads); compiled here otherwise. */
  static async load(wasm?: object): Promise<EngineInstances> {
    const instances = new EngineInstances(wasm ?? (await compileEngine()));
    // The first instance loads the engine's JavaScript glue: pay it before the first run does.
    instances.release(await instances.acquire(DEFAULT_MEMORY_BYTES), true);
    return instances;
  }

  /** Instances created so far (tests and metrics). */
  get created(): number {
    return this.#created;
  }

  /** Bytes of linear memory held by idle instances. */
  idleBytes(): number {
    let total = 0;
    for (const list of this.#idle.values()) for (const instance of list) total += instance.memory.buffer.byteLength;
    return total;
  }

  /** An idle instance whose memory cap fits `memoryBytes`, or a new one. */
  async acquire(memoryBytes: number): Promise<EngineInstance> {
    const maxPages = Math.ceil((ENGINE_BASE_BYTES + memoryBytes) / PAGE);
    const idle = this.#idle.get(maxPages)?.pop();
    if (idle !== undefined) return idle;
    const memory = new wasmApi.Memory({ initial: ENGINE_BASE_BYTES / PAGE, maximum: maxPages });
    const module = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmModule: this.wasm as never, wasmMemory: memory as never }));
    this.#created += 1;
    const instance: EngineInstance = { module, memory, maxBytes: maxPages * PAGE, exhausted: false };
    // emscripten_resize_heap tries three growth steps (+20%, +10%, +5%, each at least the request)
    // and reports out-of-memory to the allocator when all three are refused: three refusals in a
    // row mean an allocation failed for lack of memory.
    const grow = memory.grow.bind(memory);
    let refusals = 0;
    memory.grow = (pages: number) => {
      try {
        const previous = grow(pages);
        refusals = 0;
        return previous;
      } catch (error) {
        if (++refusals >= RESIZE_ATTEMPTS) instance.exhausted = true;
        throw error;
      }
    };
    return instance;
  }

  /** Returns an instance after its run; broken or grown ones are dropped (garbage collected). */
  release(instance: EngineInstance, healthy: boolean): void {
    if (!healthy || instance.exhausted || instance.memory.buffer.byteLength > ENGINE_BASE_BYTES + RETAIN_GROWTH_BYTES) return;
    const key = instance.maxBytes / PAGE;
    const list = this.#idle.get(key) ?? [];
    if (list.length >= MAX_IDLE) return;
    list.push(instance);
    this.#idle.set(key, list);
  }
}
