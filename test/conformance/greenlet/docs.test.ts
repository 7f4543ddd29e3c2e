/**
 * Ports of the doctests in greenlet's `docs/*.rst` (anchor 74b3c41) that the catalog marks
 * PORTABLE: greenlet.rst, switching.rst, creating_executing_greenlets.rst, tracing.rst and
 * gui_example.rst. `print(...)` becomes a push onto an `out` array that the test
 * compares with the doctest's expected output; a value echoed by the interpreter
 * becomes an assertion on the returned value.
 *
 * Not applicable (N/A), with the reason:
 * - switching.rst "Multiple And Keyword Arguments": the keyword-argument lines
 *   (`**kwargs` in `test1`, `gr1.switch(language='en')`, `gr1.switch("howdy",
 *   language='en_US')`, `gr1.switch("all", "y'all", language='en_US_OK')`) and the
 *   `str(kwargs)` part of the printed line: JS has no keyword arguments (R-18). The
 *   positional lines are ported.
 * - greenlet.rst "Uncaught Exceptions are Raised In the Parent": the traceback contents
 *   (which frames it shows); a JS error's stack is fixed when it is created (R-24). The
 *   propagation itself is ported.
 * - Other docs (greenlet_gc.rst, contextvars.rst, python_threads.rst) are ported
 *   elsewhere or N/A, see greenlet-tests-catalog.md.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Greenlet,
  GreenletError,
  GreenletExit,
  getcurrent,
  settrace,
  type GreenletBody,
  type TraceFunction,
} from 'greenlet-ts';

/** The error `action` throws; fails the test when it returns normally. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  throw new Error('expected the action to throw, but it returned normally');
}

describe('greenlet.rst', () => {
  /** The doc's gr1/gr2 pair; `test2` is replaceable, as the doc redefines it. */
  function lifecycle(test2Body: (out: string[], gr1: Greenlet) => GreenletBody<void>) {
    const out: string[] = [];
    function* test1(): GreenletBody<string> {
      out.push('[gr1] main  -> test1');
      yield* gr2.switch();
      out.push('[gr1] test1 <- test2');
      return 'test1 done';
    }
    const gr1: Greenlet = new Greenlet(test1);
    const gr2: Greenlet = new Greenlet(() => test2Body(out, gr1));
    return { out, gr1, gr2 };
  }

  it('greenlet.rst "The greenlet Lifecycle": gr1 and gr2 interleave, gr1 returns "test1 done" and dies, gr2 stays suspended', () => {
    const { out, gr1, gr2 } = lifecycle(function* test2(o, gr1Here) {
      o.push('[gr2] test1 -> test2');
      yield* gr1Here.switch();
      o.push('This is never printed.');
    });

    const result = gr1.switch();

    expect(out).toEqual(['[gr1] main  -> test1', '[gr2] test1 -> test2', '[gr1] test1 <- test2']);
    expect(result).toBe('test1 done');
    expect(gr1.dead).toBe(true);
    expect(gr2.dead).toBe(false);
  });

  it('greenlet.rst "The Main greenlet": only the main greenlet has a null parent', () => {
    // A plain function: the doc calls it both directly and as a greenlet's run (J4).
    const amIMain = (): boolean => {
      const current = getcurrent();
      return current.parent === null;
    };

    const atTopLevel = amIMain();
    const glet = new Greenlet(amIMain);
    const inGreenlet = glet.switch();

    expect(atTopLevel).toBe(true);
    expect(inGreenlet).toBe(false);
  });

  it('greenlet.rst "Uncaught Exceptions are Raised In the Parent": an error in gr2 is raised in main, not in gr1', () => {
    const { out, gr1, gr2 } = lifecycle(function* test2() {
      // Python's NameError from a typo; TypeScript would reject the typo itself.
      throw new ReferenceError('this_should_be_a_name_error is not defined');
    });

    const error = thrownBy(() => gr1.switch());

    expect(error).toBeInstanceOf(ReferenceError);
    expect((error as Error).message).toBe('this_should_be_a_name_error is not defined');
    expect(out).toEqual(['[gr1] main  -> test1']);
    expect(gr2.dead).toBe(true);
    expect(gr1.dead).toBe(false);
    expect(gr1.active).toBe(true);
  });
});

describe('switching.rst', () => {
  it('switching.rst (introduction): the first switch passes run its arguments, later switches pass values', () => {
    const out: unknown[] = [];
    function* test1(x: string, y: string): GreenletBody<void> {
      const z = yield* gr2.switch(x + y);
      out.push(z);
    }
    function* test2(u: unknown): GreenletBody<void> {
      out.push(u);
      yield* gr1.switch(42);
    }
    const gr1: Greenlet = new Greenlet(test1);
    const gr2: Greenlet = new Greenlet(test2);

    const result = gr1.switch('hello', ' world');

    expect(out).toEqual(['hello world', 42]);
    expect(result).toBeUndefined(); // test1 returns None
    expect(gr1.dead).toBe(true);
    expect(gr2.dead).toBe(false);
  });

  it('switching.rst "Multiple And Keyword Arguments": one argument arrives as itself, several as an array (kwargs lines N/A)', () => {
    const out: unknown[] = [];
    function* test1(x: string, y: string): GreenletBody<void> {
      for (;;) {
        const z = yield* gr2.switch(x + y);
        if (!z) break;
        out.push(z);
      }
    }
    function* test2(u: unknown): GreenletBody<void> {
      out.push(u);
      // A single argument -> itself
      yield* gr1.switch(42);
      // Multiple positional args -> a tuple (an array here)
      yield* gr1.switch('how', 'are', 'you');
      // (the keyword-argument switches of the doc are N/A)
      yield* gr1.switch(null); // terminate
    }
    const gr1: Greenlet = new Greenlet(test1);
    const gr2: Greenlet = new Greenlet(test2);

    gr1.switch('hello', ' world');

    expect(out).toEqual(['hello world', 42, ['how', 'are', 'you']]);
    expect(gr1.dead).toBe(true);
  });

  describe('"Switching To Dead Greenlets"', () => {
    /** The doc's outer/inner pair, run up to `inner_glet = outer_glet.switch()`. */
    function runOuter() {
      const out: unknown[] = [];
      function* inner(): GreenletBody<number> {
        out.push('Entering inner.');
        out.push('Returning from inner.');
        return 42;
      }
      function* outer(): GreenletBody<Greenlet> {
        out.push('Entering outer and spawning inner.');
        const innerGlet = new Greenlet(inner);
        out.push('Switching to inner.');
        let result = yield* innerGlet.switch();
        out.push(['Got from inner value:', result]);
        out.push('Switching to inner again.');
        result = yield* innerGlet.switch();
        out.push(['Got from inner value:', result]);
        return innerGlet;
      }
      const outerGlet = new Greenlet(outer);
      const innerGlet = outerGlet.switch<Greenlet>();
      return { out, outerGlet, innerGlet };
    }

    it('switching.rst "Switching To Dead Greenlets": switching to a dead child whose parent is the caller returns [] at once', () => {
      const { out, outerGlet, innerGlet } = runOuter();

      expect(out).toEqual([
        'Entering outer and spawning inner.',
        'Switching to inner.',
        'Entering inner.',
        'Returning from inner.',
        ['Got from inner value:', 42],
        'Switching to inner again.',
        ['Got from inner value:', []],
      ]);
      expect(innerGlet).toBeInstanceOf(Greenlet);
      expect(innerGlet.dead).toBe(true);
      expect(outerGlet.dead).toBe(true);
    });

    it('switching.rst "Switching To Dead Greenlets": main switching to a dead greenlet with a dead parent stays in main and gets []', () => {
      const { out, innerGlet } = runOuter();
      const printed = out.length;

      const result = innerGlet.switch();

      expect(result).toEqual([]);
      expect(out).toHaveLength(printed);
      expect(getcurrent().parent).toBeNull();
    });
  });
});

describe('creating_executing_greenlets.rst', () => {
  it('creating_executing_greenlets.rst (introduction): run is the function given and parent the current greenlet', () => {
    const out: string[] = [];
    function* run(): GreenletBody<void> {
      out.push('Running in the greenlet function.');
    }

    const glet = new Greenlet(run);

    expect(glet.run).toBe(run);
    expect(glet.parent).toBe(getcurrent());
    expect(out).toEqual([]);
  });

  it('creating_executing_greenlets.rst (introduction): the first switch runs the function', () => {
    const out: string[] = [];
    function* run(): GreenletBody<void> {
      out.push('Running in the greenlet function.');
    }
    const glet = new Greenlet(run);

    const result = glet.switch();

    expect(out).toEqual(['Running in the greenlet function.']);
    expect(result).toBeUndefined();
  });

  it('creating_executing_greenlets.rst (introduction): run is gone once the greenlet has started (reads undefined)', () => {
    function* run(): GreenletBody<void> {}
    const glet = new Greenlet(run);

    glet.switch();

    // Python raises AttributeError: run; the port's accessor reads undefined (R-9).
    expect(glet.run).toBeUndefined();
  });

  it('creating_executing_greenlets.rst "Subclassing greenlet": a subclass defines run as a method and keeps state', () => {
    const out: string[] = [];
    // The doc stamps time.time(); a logical clock keeps the test free of timing.
    let clock = 0;
    const time = (): number => ++clock;
    class MyGreenlet extends Greenlet {
      createdAt: number | null = null;
      finishedAt: number | null = null;
      override *run(): GreenletBody<void> {
        this.createdAt = time();
        out.push('Running in the greenlet subclass.');
        this.finishedAt = time();
      }
    }
    const glet = new MyGreenlet();

    glet.switch();

    expect(out).toEqual(['Running in the greenlet subclass.']);
    expect(glet.createdAt).not.toBeNull();
    expect(glet.finishedAt).not.toBeNull();
    expect(glet.finishedAt as number).toBeGreaterThanOrEqual(glet.createdAt as number);
  });

  describe('"Changing The Parent"', () => {
    function parentAndChild(out: unknown[]) {
      function* parent(childResult: unknown): GreenletBody<void> {
        out.push(['In the parent.', childResult]);
      }
      function* child(): GreenletBody<void> {
        out.push('In the child.');
      }
      return { parent, child };
    }

    it('creating_executing_greenlets.rst "Changing The Parent": a parent given at creation runs when the child finishes', () => {
      const out: unknown[] = [];
      const { parent, child } = parentAndChild(out);
      const parentGlet = new Greenlet(parent);
      const childGlet = new Greenlet(child, parentGlet);

      childGlet.switch();

      expect(out).toEqual(['In the child.', ['In the parent.', undefined]]);
      expect(childGlet.dead).toBe(true);
      expect(parentGlet.dead).toBe(true);
    });

    it('creating_executing_greenlets.rst "Changing The Parent": a parent assigned later runs when the child finishes', () => {
      const out: unknown[] = [];
      const { parent, child } = parentAndChild(out);
      const parentGlet = new Greenlet(parent);
      const childGlet = new Greenlet(child);
      childGlet.parent = parentGlet;

      childGlet.switch();

      expect(out).toEqual(['In the child.', ['In the parent.', undefined]]);
      expect(parentGlet.dead).toBe(true);
    });

    it('creating_executing_greenlets.rst "Changing The Parent": a cyclic parent chain is refused', () => {
      const { parent, child } = parentAndChild([]);
      const parentGlet = new Greenlet(parent);
      const childGlet = new Greenlet(child);
      childGlet.parent = parentGlet;

      const error = thrownBy(() => {
        parentGlet.parent = childGlet;
      });

      expect(error).toBeInstanceOf(GreenletError);
      expect((error as Error).message).toBe('cyclic parent chain');
      expect(parentGlet.parent).toBe(getcurrent());
    });

    it('creating_executing_greenlets.rst "Changing The Parent": the parent must be a greenlet', () => {
      const { parent } = parentAndChild([]);
      const parentGlet = new Greenlet(parent);

      const error = thrownBy(() => {
        // @ts-expect-error -- a number is not a greenlet
        parentGlet.parent = 42;
      });

      // The doc's "parent must be a greenlet" is older wording; greenlet 2.0.2 and 3.x say
      // "GreenletChecker: Expected any type of greenlet, not int" (R-44).
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe('GreenletChecker: Expected any type of greenlet, not number');
      expect(parentGlet.parent).toBe(getcurrent());
    });
  });

  describe('"Interrupting Greenlets by Throwing Exceptions"', () => {
    class MyException extends Error {}
    /** Python's built-in ValueError, which the doc throws. */
    class ValueError extends Error {}

    function interruptible(out: string[]) {
      const main = getcurrent();
      function* run(): GreenletBody<void> {
        try {
          yield* main.switch();
        } catch (e) {
          if (!(e instanceof MyException)) throw e;
          out.push('Caught exception in greenlet.');
        }
      }
      return new Greenlet(run);
    }

    it('creating_executing_greenlets.rst "Interrupting Greenlets by Throwing Exceptions": a thrown error is caught in the greenlet', () => {
      const out: string[] = [];
      const glet = interruptible(out);
      glet.switch();

      const result = glet.throw(MyException);

      expect(out).toEqual(['Caught exception in greenlet.']);
      expect(result).toBeUndefined();
      expect(glet.dead).toBe(true);
    });

    it('creating_executing_greenlets.rst "Interrupting Greenlets by Throwing Exceptions": an uncaught thrown error propagates to the parent', () => {
      const out: string[] = [];
      const glet = interruptible(out);
      glet.switch();

      const error = thrownBy(() => glet.throw(ValueError));

      expect(error).toBeInstanceOf(ValueError);
      expect(out).toEqual([]);
      expect(glet.dead).toBe(true);
    });

    it('creating_executing_greenlets.rst "Interrupting Greenlets by Throwing Exceptions": an uncaught GreenletExit is returned, not raised', () => {
      const out: string[] = [];
      const glet = interruptible(out);
      glet.switch();

      const result = glet.throw(GreenletExit);

      expect(result).toBeInstanceOf(GreenletExit);
      expect(out).toEqual([]);
      expect(glet.dead).toBe(true);
    });
  });
});

describe('tracing.rst', () => {
  afterEach(() => {
    settrace(null);
  });

  it('tracing.rst "Trace Callback Functions": every transfer between Origin, Target and main is reported in order', () => {
    const out: unknown[] = [];
    const callback: TraceFunction = (event, args) => {
      if (event === 'switch' || event === 'throw') {
        const [origin, target] = args;
        out.push(`Transfer from ${String(origin)} to ${String(target)} with ${event}`);
      }
    };
    class Origin extends Greenlet {
      override *run(): GreenletBody<void> {
        out.push('In origin');
        yield* target.switch();
        out.push('Returned to origin');
        yield* target.throw();
      }
      override toString(): string {
        return '<origin>';
      }
    }
    class Target extends Greenlet {
      override *run(): GreenletBody<void> {
        yield* origin.switch();
      }
      override toString(): string {
        return '<target>';
      }
    }

    const oldTrace = settrace(callback);
    const origin = new Origin();
    const target = new Target();
    let result: unknown;
    try {
      result = origin.switch();
    } finally {
      const restored = settrace(oldTrace);
      expect(restored).toBe(callback);
    }

    // The doc's `<greenlet.greenlet object ...>` (the main greenlet) is `<Greenlet ...>` here.
    expect(out).toEqual([
      expect.stringMatching(/^Transfer from <Greenlet [^>]*main> to <origin> with switch$/),
      'In origin',
      'Transfer from <origin> to <target> with switch',
      'Transfer from <target> to <origin> with switch',
      'Returned to origin',
      'Transfer from <origin> to <target> with throw',
      expect.stringMatching(/^Transfer from <target> to <Greenlet [^>]*main> with switch$/),
    ]);
    expect(result).toBeInstanceOf(GreenletExit); // target died of the kill; main received it
    expect(oldTrace).toBeNull();
  });
});

describe('gui_example.rst', () => {
  /**
   * The doc's console application: `process_commands` runs in the greenlet
   * `g_processor`, `read_next_char` switches to main for each key, and the GUI callback
   * `event_keydown` (running in main) switches the key into `g_processor`.
   */
  function commandProcessor() {
    const out: string[] = [];
    const echoUserInput = (userInput: string): string => {
      out.push('    <<< ' + userInput.trim());
      return userInput;
    };
    const processCommand = (line: string): void => {
      out.push('(Processing command: ' + line.trim() + ')');
    };
    function* processCommands(): GreenletBody<void> {
      for (;;) {
        let line = '';
        while (!line.endsWith('\n')) {
          line += yield* readNextChar();
        }
        echoUserInput(line);
        if (line === 'quit\n') {
          out.push('Are you sure?');
          if (echoUserInput(yield* readNextChar()) !== 'y') {
            continue; // ignore the command
          }
          out.push('(Exiting loop.)');
          break; // stop the command loop
        }
        processCommand(line);
      }
    }

    const gProcessor = new Greenlet(processCommands);
    const mainGreenlet = getcurrent();
    // running in main_greenlet: jump into g_processor, sending it the key
    const eventKeydown = (key: string): unknown => gProcessor.switch(key);
    // running in g_processor: jump to the main greenlet, where the GUI event loop is
    // running, and wait for the next key
    function* readNextChar(): GreenletBody<string> {
      const nextChar = yield* mainGreenlet.switch<string>('blocking in read_next_char');
      return nextChar;
    }
    return { out, gProcessor, eventKeydown };
  }

  /** The keys of the doc's `gui_mainloop`: "hello", "quit", then "y" at the prompt. */
  const KEYS = [...'hello\n', ...'quit\n', 'y'];

  const EXPECTED = [
    '    <<< hello',
    '(Processing command: hello)',
    '    <<< quit',
    'Are you sure?',
    '    <<< y',
    '(Exiting loop.)',
  ];

  it('gui_example.rst "Enter greenlets": starting g_processor runs it up to read_next_char, which switches back to main', () => {
    const { out, gProcessor } = commandProcessor();

    const result = gProcessor.switch();

    expect(result).toBe('blocking in read_next_char');
    expect(out).toEqual([]);
    expect(gProcessor.active).toBe(true);
  });

  it('gui_example.rst "Enter greenlets": key callbacks from a fake GUI main loop drive the command loop to its end', () => {
    const { out, gProcessor, eventKeydown } = commandProcessor();
    gProcessor.switch();
    const replies: unknown[] = [];
    // The doc's fake GUI: its loop calls the callback once per key typed.
    const guiMainloop = (): void => {
      for (const c of KEYS) replies.push(eventKeydown(c));
    };

    guiMainloop();

    expect(out).toEqual(EXPECTED);
    expect(gProcessor.dead).toBe(true);
    // Every key but the last comes back as the next read_next_char; the last ends the
    // loop, and g_processor's return value (undefined) goes to its parent, main.
    expect(replies).toEqual([...KEYS.slice(0, -1).map(() => 'blocking in read_next_char'), undefined]);
  });

  it('gui_example.rst "Enter greenlets" (R-69): key callbacks run as macrotasks of the real event loop resume g_processor', async () => {
    const { out, gProcessor, eventKeydown } = commandProcessor();
    gProcessor.switch();
    const keys = [...KEYS];

    await new Promise<void>((resolve, reject) => {
      const deliverNext = (): void => {
        try {
          const key = keys.shift();
          if (key === undefined) {
            resolve();
            return;
          }
          eventKeydown(key);
          setImmediate(deliverNext);
        } catch (e) {
          reject(e);
        }
      };
      setImmediate(deliverNext);
    });

    expect(out).toEqual(EXPECTED);
    expect(gProcessor.dead).toBe(true);
  });
});
