/**
 * How the lint rule tells, from a TypeScript type, that a value is a greenlet-ts
 * operation: something only `yield*` runs.
 *
 * Every suspension of greenlet-ts yields the branded `SwitchSignal`
 * (`{ readonly '#greenlet-ts': 'switch' }`) to the switcher. So a value is an operation
 * when its `[Symbol.iterator]()` returns an iterator whose `next()` can yield a value
 * carrying that brand: `SwitchOp<T>`, `Performed<T>`, `GreenletBody<T>` (a generator of
 * a task's body) and any user type built on them, whatever they are called. Nothing here
 * names a class or a method of the library except {@link OperationTypes.isOperationKind}
 * (see there why), so the rule follows the types, not a list of names.
 *
 * Only the checker's methods are used (no `import` of TypeScript at run time): the
 * plugin runs on the TypeScript its user's typescript-eslint already loaded.
 *
 * @module
 */
import type * as ts from 'typescript';

/** The property every `SwitchSignal` has; nothing else in a program should. */
const BRAND = '#greenlet-ts';

/**
 * TypeScript names the property `[Symbol.iterator]` `__@iterator@<id>` (the id of the
 * `iterator` symbol), so it is found by this prefix.
 */
const ITERATOR_PREFIX = '__@iterator@';

/** The questions the rule asks about types, answered once per type and program. */
export class OperationTypes {
  readonly #checker: ts.TypeChecker;
  readonly #operations = new WeakMap<ts.Type, boolean>();

  constructor(checker: ts.TypeChecker) {
    this.#checker = checker;
  }

  /**
   * True if `type` is an operation: its iterator yields `SwitchSignal`. A union is one
   * when every member is (`c ? q.get() : ch.recv()`); `SwitchOp<T> | undefined` is not.
   */
  isOperation(type: ts.Type): boolean {
    let known = this.#operations.get(type);
    if (known === undefined) {
      known = type.isUnion() ? type.types.every((member) => this.isOperation(member)) : this.#yieldsSwitchSignal(type);
      this.#operations.set(type, known);
    }
    return known;
  }

  /**
   * True if `type` is an array or a tuple whose every element is an operation: what
   * `items.map(() => q.get())` makes.
   */
  isArrayOfOperations(type: ts.Type): boolean {
    const checker = this.#checker;
    if (!checker.isArrayType(type) && !checker.isTupleType(type)) return false;
    const elements = checker.getTypeArguments(type as ts.TypeReference);
    return elements.length > 0 && elements.every((element) => this.isOperation(element));
  }

  /**
   * True for an operation *kind*: an instance of the `Operation` class of the public
   * operation protocol (`new Operation(name, perform)`, the hub's `blockingOperation()`),
   * made once and kept in a module constant. It is iterable like the operations it makes
   * (`lazy(KIND, self, a, b)` hands back the kind itself, typed `SwitchOp<R>`), but making
   * and keeping one performs nothing, so it is never reported. Told apart by its class
   * name and its `perform` member, as a type can say nothing more.
   */
  isOperationKind(type: ts.Type): boolean {
    for (let t: ts.Type | undefined = type; t !== undefined; t = this.#baseClass(t)) {
      if (t.getSymbol()?.getName() === 'Operation' && this.#checker.getPropertyOfType(t, 'perform') !== undefined) return true;
    }
    return false;
  }

  /**
   * True if `type` (a parameter's declared type) takes an operation: an operation type,
   * one with `undefined` or `null`, or a type parameter constrained to one.
   */
  acceptsOperation(type: ts.Type): boolean {
    const checker = this.#checker;
    const constraint = type.isTypeParameter() ? checker.getBaseConstraintOfType(type) : type;
    return constraint !== undefined && this.isOperation(checker.getNonNullableType(constraint));
  }

  /** The element type of an array type (for a rest parameter). */
  elementOf(type: ts.Type): ts.Type | undefined {
    const checker = this.#checker;
    if (!checker.isArrayType(type)) return undefined;
    return checker.getTypeArguments(type as ts.TypeReference)[0];
  }

  #yieldsSwitchSignal(type: ts.Type): boolean {
    const checker = this.#checker;
    const iterator = checker.getPropertiesOfType(type).find((p) => p.getName().startsWith(ITERATOR_PREFIX));
    if (iterator === undefined) return false;
    for (const iterate of checker.getTypeOfSymbol(iterator).getCallSignatures()) {
      const next = checker.getPropertyOfType(iterate.getReturnType(), 'next');
      if (next === undefined) continue;
      for (const step of checker.getTypeOfSymbol(next).getCallSignatures()) {
        const result = step.getReturnType();
        for (const member of result.isUnion() ? result.types : [result]) {
          const value = checker.getPropertyOfType(member, 'value');
          if (value !== undefined && checker.getPropertyOfType(checker.getTypeOfSymbol(value), BRAND) !== undefined) return true;
        }
      }
    }
    return false;
  }

  #baseClass(type: ts.Type): ts.Type | undefined {
    if (!type.isClass()) {
      // An instance type of a generic class (`Operation<Q, A, B, R>`) is a reference to it.
      const target = (type as ts.TypeReference).target as ts.Type | undefined;
      if (target === undefined || target === type || !target.isClass()) return undefined;
      type = target;
    }
    return this.#checker.getBaseTypes(type as ts.InterfaceType)[0];
  }
}
