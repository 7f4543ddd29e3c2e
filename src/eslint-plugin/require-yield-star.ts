/**
 * The rule `require-yield-star`: an operation of greenlet-ts (`q.get()`, `sleep(10)`,
 * `t.join()`, `g.switch(v)`, a call of a task body's generator function, ...) must be the
 * operand of `yield*`, which is what runs it. Made and not run it does nothing, and the
 * library reports it at run time (`MissingYieldError`); this rule says so in the editor.
 *
 * What counts as an operation is decided by its type (see ./operation-type.ts). Where the
 * value of an operation goes decides the report, after stepping out through what passes a
 * value on unchanged (`as`, `!`, `satisfies`, `?.`, the branches of `?:`, `&&` / `||` /
 * `??`, the last expression of a comma list):
 *
 * - the operand of `yield*`: run; nothing to say;
 * - returned, or the body of an arrow function, from a plain function: how operations
 *   are written (`function op() { return lazy(...) }`, `pool.spawn(() => sleep(10))`);
 *   nothing to say, unless the function is a callback whose result is thrown away
 *   (its contextual return type is `void`: `items.forEach((x) => q.put(x))`);
 * - returned from a generator function: the generator hands back the operation instead
 *   of its result: `return yield* op` (autofixed);
 * - a statement of its own: dropped (`yield* ` inserted by the autofix in a generator);
 * - `yield op`: a bare yield hands it to the switcher unrun (`yield` becomes `yield*`);
 * - `await op`: an operation is not a promise;
 * - stored, passed as an argument (unless the parameter is declared to take an
 *   operation, as `raisedBy(op: SwitchOp<unknown>)` is) or used in any other way: the
 *   operation is there instead of its result (a suggestion adds the `yield*`);
 * - an array of operations (`items.map(() => q.get())`) as a statement or stored.
 *
 * Not reported although typed as operations: an operation *kind* (the `Operation` object
 * of the public operation protocol, made once); a variable of a module's top level (that
 * code runs in the main greenlet, where making an operation raises at once, so what is
 * kept there is a shared object such as a completed operation); and `g.switch(v)` /
 * `g.throw(e)` outside generator functions, where the main greenlet switches at once and
 * the call evaluates to the value (their declared return type, `Switched<T>`, says so).
 *
 * @module
 */
import type { TSESLint, TSESTree } from '@typescript-eslint/utils';
import type * as ts from 'typescript';
import { OperationTypes } from './operation-type.js';

type MessageId =
  | 'notPerformed'
  | 'notPerformedPlain'
  | 'stored'
  | 'passed'
  | 'used'
  | 'bareYield'
  | 'awaited'
  | 'returnedFromGenerator'
  | 'droppedByCallback'
  | 'arrayOfOperations'
  | 'writeYieldStar';

/** Where the value of an expression ends up, after the nodes that pass it on unchanged. */
interface Destination {
  /** The outermost expression that still is the value (`c ? a() : b()` for `a()`). */
  readonly top: TSESTree.Node;
  /** What takes that value: a `yield*`, a call, a statement, a declaration, ... */
  readonly taker: TSESTree.Node;
}

type FunctionNode = TSESTree.FunctionDeclaration | TSESTree.FunctionExpression | TSESTree.ArrowFunctionExpression;

/** What an operation made elsewhere can look like where it is dropped or yielded. */
const OPERAND_TYPES: ReadonlySet<string> = new Set([
  'Identifier',
  'MemberExpression',
  'ThisExpression',
  'ConditionalExpression',
  'LogicalExpression',
  'SequenceExpression',
]);

/** Operation text longer than this is shortened in messages (`select(…)`). */
const MAX_TEXT = 60;

/** The parser services this rule needs: typescript-eslint's, with type information. */
interface TypedServices {
  program: ts.Program;
  esTreeNodeToTSNodeMap: { get(node: TSESTree.Node): ts.Node };
}

/**
 * The rule object (ESLint's rule format). Needs type information: typescript-eslint's
 * parser with `parserOptions.projectService` (or `project`).
 */
export const requireYieldStar: TSESLint.RuleModule<MessageId, []> = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Require `yield*` on every greenlet-ts operation: one made and not run by `yield*` does nothing',
      url: 'https://github.com/greenlet-ts/greenlet-ts/blob/main/docs/tasks.md#catching-a-missing-yield-before-it-runs',
    },
    fixable: 'code',
    hasSuggestions: true,
    schema: [],
    messages: {
      notPerformed: '`{{op}}` is an operation: it does nothing until `yield*` runs it. Write `yield* {{op}}`.',
      notPerformedPlain:
        '`{{op}}` is an operation: it does nothing until `yield*` runs it, and this is not a generator function. ' +
        "Write `yield* {{op}}` in a task's generator function.",
      stored:
        '`{{op}}` is an operation: it does nothing until `yield*` runs it, so what is stored here is the operation, ' +
        'not its result. Write `yield* {{op}}`.',
      passed:
        '`{{op}}` is an operation: it does nothing until `yield*` runs it, so what is passed here is the operation, ' +
        'not its result. Write `yield* {{op}}`.',
      used:
        '`{{op}}` is an operation: it does nothing until `yield*` runs it, so what is used here is the operation, ' +
        'not its result. Write `(yield* {{op}})`.',
      bareYield: '`yield {{op}}` hands the operation to the switcher without running it. Write `yield* {{op}}`.',
      awaited:
        "`{{op}}` is an operation, not a promise: `await` does not run it. Write `yield* {{op}}` in a task's generator function.",
      returnedFromGenerator:
        '`{{op}}` is an operation: returning it from a generator function hands back the operation, not its result. ' +
        'Write `return yield* {{op}}`.',
      droppedByCallback:
        "`{{op}}` is an operation, and this callback's result is thrown away, so nothing runs it. " +
        "Write `yield* {{op}}` in a task's generator function instead (for `forEach`, a `for ... of` loop).",
      arrayOfOperations:
        '`{{op}}` is an array of operations: none of them does anything until `yield*` runs it. ' +
        'Run each with `yield*` in a `for ... of` loop.',
      writeYieldStar: 'Write `yield* {{op}}`.',
    },
  },
  defaultOptions: [],
  create(context) {
    const services = context.sourceCode.parserServices as Partial<TypedServices> | null | undefined;
    if (services?.program == null || services.esTreeNodeToTSNodeMap === undefined) {
      throw new Error(
        `${context.id} needs type information, and ${context.filename} was parsed without it: use typescript-eslint's ` +
          'parser with `languageOptions: { parserOptions: { projectService: true } }` for the TypeScript files it checks',
      );
    }
    const nodeMap = services.esTreeNodeToTSNodeMap;
    const checker = services.program.getTypeChecker();
    const types = new OperationTypes(checker);
    const source = context.sourceCode;
    /** Tops already reported: `yield c ? a() : b()` is one slip, not three. */
    const reported = new Set<TSESTree.Node>();

    const typeOf = (node: TSESTree.Node): ts.Type => checker.getTypeAtLocation(nodeMap.get(node));

    function isOperation(node: TSESTree.Node): boolean {
      return types.isOperation(typeOf(node));
    }

    /** The operation as the user wrote it, on one line, shortened if long. */
    function textOf(node: TSESTree.Node): string {
      const text = source.getText(node).replace(/\s+/g, ' ');
      if (text.length <= MAX_TEXT) return text;
      if (node.type === 'CallExpression' || node.type === 'NewExpression') {
        const callee = source.getText(node.callee).replace(/\s+/g, ' ');
        if (callee.length < MAX_TEXT - 4) return `${node.type === 'NewExpression' ? 'new ' : ''}${callee}(…)`;
      }
      return `${text.slice(0, MAX_TEXT - 1)}…`;
    }

    /**
     * Insert `yield* ` for the operation `node` whose value goes to `taker` through `top`:
     * before `top` when all of it is an operation (`c ? q.get() : ev.wait()`), else before
     * `node` (`c && (yield* q.put(1))`), in parentheses where the place needs them.
     */
    function insertYieldStar(node: TSESTree.Node, top: TSESTree.Node, taker: TSESTree.Node): TSESLint.ReportFixFunction {
      const at = top !== node && isOperation(top) ? top : node;
      const parent = at === top ? taker : (at.parent as TSESTree.Node);
      const wrap = at.type === 'SequenceExpression' || needsParentheses(at, parent);
      return (fixer) =>
        wrap ? [fixer.insertTextBefore(at, '(yield* '), fixer.insertTextAfter(at, ')')] : fixer.insertTextBefore(at, 'yield* ');
    }

    /**
     * Report the operation `node` (made here, or an operand of a statement, `yield`,
     * `await` or `return`) according to where its value goes. `array`: `node` is an array
     * of operations, reported only where it is dropped or stored.
     */
    function check(node: TSESTree.Node, array: boolean): void {
      const { top, taker } = destinationOf(node);
      if (reported.has(top)) return;
      const fn = enclosingFunction(node);
      const inGenerator = fn !== null && fn.type !== 'ArrowFunctionExpression' && fn.generator && !fn.async;
      if (!inGenerator && !array && switchesAtOnce(node)) return;
      const op = textOf(node);
      const report = (messageId: MessageId, fix: TSESLint.ReportFixFunction | null, suggest: boolean): void => {
        reported.add(top);
        context.report({
          node,
          messageId,
          data: { op },
          ...(fix !== null && inGenerator ? { fix } : {}),
          ...(suggest && inGenerator ? { suggest: [{ messageId: 'writeYieldStar', data: { op }, fix: insertYieldStar(node, top, taker) }] } : {}),
        });
      };

      if (array) {
        if (taker.type === 'ExpressionStatement' || (isStore(top, taker) && !isModuleConstant(taker))) report('arrayOfOperations', null, false);
        return;
      }
      switch (taker.type) {
        case 'YieldExpression':
          if (taker.delegate) return;
          report('bareYield', (fixer) => fixer.replaceTextRange([taker.range[0], taker.range[0] + 'yield'.length], 'yield*'), false);
          return;
        case 'AwaitExpression':
          report('awaited', null, false);
          return;
        case 'ExpressionStatement':
          report(inGenerator ? 'notPerformed' : 'notPerformedPlain', insertYieldStar(node, top, taker), false);
          return;
        case 'SequenceExpression': // not the last expression: dropped, as a statement is
          report(inGenerator ? 'notPerformed' : 'notPerformedPlain', null, false);
          return;
        case 'ReturnStatement':
          if (inGenerator) report('returnedFromGenerator', insertYieldStar(node, top, taker), false);
          else if (fn !== null && resultIsDropped(fn)) report('droppedByCallback', null, false);
          return;
        case 'ArrowFunctionExpression':
          if (taker.body === top && resultIsDropped(taker)) report('droppedByCallback', null, false);
          return;
        case 'CallExpression':
        case 'NewExpression':
          if (taker.callee === top) report('used', null, true);
          else if (!parameterTakesOperation(taker, top)) report('passed', null, true);
          return;
        case 'MemberExpression':
          // `op[Symbol.iterator]()` is what `yield*` does: code that drives an operation by hand.
          if (taker.object === top && isSymbolIterator(taker)) return;
          report('used', null, true);
          return;
        default:
          if (!isStore(top, taker)) report('used', null, true);
          else if (!isModuleConstant(taker)) report('stored', null, true);
      }
    }

    /**
     * True where `yield* x` needs parentheses: everywhere but the places that take any
     * expression (a statement, an initializer, the right of `=`, an argument, an element,
     * a property, a branch of `?:`).
     */
    function needsParentheses(at: TSESTree.Node, parent: TSESTree.Node): boolean {
      switch (parent.type) {
        case 'CallExpression':
        case 'NewExpression':
          return parent.callee === at;
        case 'ConditionalExpression':
          return parent.test === at;
        case 'ExpressionStatement':
        case 'ReturnStatement':
        case 'YieldExpression':
        case 'VariableDeclarator':
        case 'AssignmentExpression':
        case 'AssignmentPattern':
        case 'Property':
        case 'ArrayExpression':
        case 'TemplateLiteral':
        case 'SpreadElement':
        case 'SequenceExpression':
          return false;
        default:
          return true;
      }
    }

    function isStore(top: TSESTree.Node, taker: TSESTree.Node): boolean {
      switch (taker.type) {
        case 'VariableDeclarator':
          return taker.init === top;
        case 'AssignmentExpression':
        case 'AssignmentPattern':
          return taker.right === top;
        case 'PropertyDefinition':
        case 'AccessorProperty':
          return taker.value === top;
        case 'Property':
          return taker.value === top;
        case 'ArrayExpression':
          return true;
        default:
          return false;
      }
    }

    /** `g.switch(v)` or `g.throw(e)`, typed `Switched<T>`: from plain code, a switch made at once. */
    function switchesAtOnce(node: TSESTree.Node): boolean {
      if (node.type !== 'CallExpression') return false;
      const declaration = checker.getResolvedSignature(nodeMap.get(node) as ts.CallExpression)?.getDeclaration();
      const returnType = (declaration as ts.SignatureDeclaration | undefined)?.type as ts.TypeReferenceNode | undefined;
      const name = returnType?.typeName;
      if (name === undefined) return false;
      return ('right' in name ? name.right : name).escapedText === 'Switched';
    }

    /** True if the callee declares the parameter `argument` goes to as an operation. */
    function parameterTakesOperation(call: TSESTree.CallExpression | TSESTree.NewExpression, argument: TSESTree.Node): boolean {
      const index = call.arguments.indexOf(argument as TSESTree.CallExpressionArgument);
      if (index === -1) return false;
      const declaration = checker.getResolvedSignature(nodeMap.get(call) as ts.CallLikeExpression)?.getDeclaration();
      if (declaration === undefined) return false;
      const declared = checker.getSignatureFromDeclaration(declaration);
      const parameters = declared?.getParameters() ?? [];
      const last = declaration.parameters.length - 1;
      const rest = last >= 0 && declaration.parameters[last]?.dotDotDotToken !== undefined;
      const position = index < last || !rest ? index : last;
      const parameter = parameters[position];
      if (parameter === undefined) return false;
      let type = checker.getTypeOfSymbol(parameter);
      if (rest && position === last) type = types.elementOf(type) ?? type;
      return types.acceptsOperation(type);
    }

    /** True for a callback whose result its caller ignores: its contextual return type is `void`. */
    function resultIsDropped(fn: FunctionNode): boolean {
      if (fn.type === 'FunctionDeclaration') return false;
      const contextual = checker.getContextualType(nodeMap.get(fn) as ts.Expression);
      if (contextual === undefined) return false;
      const signatures = contextual.getCallSignatures();
      return signatures.length > 0 && signatures.every((s) => checker.typeToString(s.getReturnType()) === 'void');
    }

    /**
     * An operand of `yield`, `await`, `return` or a statement that is an operation made
     * elsewhere (`yield op`, `return this.op`); calls are checked where they are made.
     */
    function checkOperand(node: TSESTree.Node | null | undefined): void {
      if (node == null || !OPERAND_TYPES.has(unwrap(node).type)) return;
      const type = typeOf(node);
      if (types.isOperation(type) && !types.isOperationKind(type)) check(node, false);
    }

    function checkMade(node: TSESTree.CallExpression | TSESTree.NewExpression): void {
      // Most operations are written right; asking for no type there halves the rule's time.
      const { taker } = destinationOf(node);
      if (taker.type === 'YieldExpression' && taker.delegate) return;
      const type = typeOf(node);
      if (types.isOperation(type)) {
        if (!types.isOperationKind(type)) check(node, false);
      } else if (node.type === 'CallExpression' && types.isArrayOfOperations(type)) {
        check(node, true);
      }
    }

    return {
      CallExpression: checkMade,
      NewExpression: checkMade,
      ExpressionStatement: (node) => checkOperand(node.expression),
      YieldExpression: (node) => checkOperand(node.argument),
      AwaitExpression: (node) => checkOperand(node.argument),
      ReturnStatement: (node) => checkOperand(node.argument),
    };
  },
};

/**
 * True for the declaration of a variable of a module's top level: it runs once, in the
 * main greenlet, where making an operation raises at once (`BlockingError`), so what is
 * kept there is a shared object (a completed operation, the switcher's port), not a slip.
 */
function isModuleConstant(taker: TSESTree.Node): boolean {
  if (taker.type !== 'VariableDeclarator') return false;
  const statement = taker.parent.parent?.type === 'ExportNamedDeclaration' ? taker.parent.parent : taker.parent;
  return statement.parent?.type === 'Program';
}

/** Step out of the nodes that pass a value on unchanged. */
function destinationOf(node: TSESTree.Node): Destination {
  let top = node;
  for (;;) {
    const parent = top.parent;
    if (parent === undefined) return { top, taker: top };
    switch (parent.type) {
      case 'TSAsExpression':
      case 'TSSatisfiesExpression':
      case 'TSNonNullExpression':
      case 'TSTypeAssertion':
      case 'ChainExpression':
      case 'LogicalExpression':
        top = parent;
        continue;
      case 'ConditionalExpression':
        if (parent.test === top) return { top, taker: parent };
        top = parent;
        continue;
      case 'SequenceExpression':
        if (parent.expressions.at(-1) !== top) return { top, taker: parent };
        top = parent;
        continue;
      default:
        return { top, taker: parent };
    }
  }
}

/** The expression inside `as`, `!`, `satisfies` and `?.`. */
function unwrap(node: TSESTree.Node): TSESTree.Node {
  for (;;) {
    switch (node.type) {
      case 'TSAsExpression':
      case 'TSSatisfiesExpression':
      case 'TSNonNullExpression':
      case 'TSTypeAssertion':
        node = node.expression;
        continue;
      case 'ChainExpression':
        node = node.expression;
        continue;
      default:
        return node;
    }
  }
}

function enclosingFunction(node: TSESTree.Node): FunctionNode | null {
  for (let n: TSESTree.Node | null | undefined = node.parent; n != null; n = n.parent) {
    if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression') return n;
  }
  return null;
}

function isSymbolIterator(member: TSESTree.MemberExpression): boolean {
  const p = member.property;
  return (
    member.computed &&
    p.type === 'MemberExpression' &&
    p.object.type === 'Identifier' &&
    p.object.name === 'Symbol' &&
    p.property.type === 'Identifier' &&
    p.property.name === 'iterator'
  );
}
