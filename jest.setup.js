// Jest runs each test file in its own realm, whose Symbol lacks the Symbol.dispose that Node
// adds to the main realm; `using` declarations in tests need it. Node's is the registered
// symbol 'nodejs.dispose', so the key is the same in every realm.
Symbol.dispose ??= Symbol.for('nodejs.dispose');
Symbol.asyncDispose ??= Symbol.for('nodejs.asyncDispose');
