import { protocol, type PGlite } from '@electric-sql/pglite';

const { serialize } = protocol;

interface Prepared {
  name: string;
  paramTypes: number[];
  fields: { name: string; dataTypeID: number }[];
}

interface BackendMessage {
  name: string;
}
interface ParameterDescription extends BackendMessage {
  dataTypeIDs: number[];
}
interface RowDescription extends BackendMessage {
  fields: { name: string; dataTypeID: number }[];
}
interface DataRow extends BackendMessage {
  fields: (string | null)[];
}

// the plan or result shape a named statement was prepared with no longer holds (DDL since), or it is gone
const STALE_STATEMENT = new Set(['0A000', '26000']);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Named prepared statements over PGlite's wire protocol. PGlite's own `query` runs a statement as six round trips
 * into the WebAssembly backend (parse, describe, bind, describe, execute, sync), parsing and planning it every time;
 * a statement the server runs again and again (the read log's insert, the token check, the replica's upserts) is
 * parsed once here and then costs one round trip: Bind + Execute + Sync. Values and rows go through the instance's
 * own serializers and parsers, so results are exactly those of `query`. The least recently used statements are
 * closed beyond `max`. Every call holds PGlite's query lock, as `query` does, so nothing interleaves.
 */
export class PgliteStatements {
  private readonly statements = new Map<string, Prepared>();
  private counter = 0;

  constructor(
    private readonly pg: PGlite,
    private readonly max = 500,
  ) {}

  /** `inTransaction`: called through a PGlite transaction, which holds the transaction lock already. */
  async query<Row>(sql: string, params: readonly unknown[], inTransaction: boolean): Promise<Row[]> {
    // the locks PGlite's own query takes: the transaction lock (unless inside one) and the query lock
    const exclusive = <T>(fn: () => Promise<T>) => (inTransaction ? this.pg._runExclusiveQuery(fn) : this.pg._runExclusiveTransaction(() => this.pg._runExclusiveQuery(fn)));
    try {
      return await exclusive(() => this.run<Row>(sql, params));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !STALE_STATEMENT.has(code) || !this.statements.has(sql) || inTransaction) throw err;
      return exclusive(async () => {
        await this.close(sql);
        return this.run<Row>(sql, params);
      });
    } finally {
      if (!inTransaction) await this.pg.syncToFs();
    }
  }

  private async run<Row>(sql: string, params: readonly unknown[]): Promise<Row[]> {
    const statement = await this.prepared(sql);
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.pg.serializers[statement.paramTypes[i]];
      return serializer ? serializer(value) : String(value);
    });
    const { messages } = await this.pg.execProtocol(concat([serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()]), { syncToFs: false });
    const rows: Row[] = [];
    for (const m of messages as BackendMessage[]) {
      if (m.name !== 'dataRow') continue;
      const row: Record<string, unknown> = {};
      (m as DataRow).fields.forEach((text, i) => {
        const field = statement.fields[i];
        const parser = this.pg.parsers[field.dataTypeID];
        row[field.name] = text === null ? null : parser ? parser(text, field.dataTypeID) : text;
      });
      rows.push(row as Row);
    }
    return rows;
  }

  private async prepared(sql: string): Promise<Prepared> {
    const known = this.statements.get(sql);
    if (known) {
      this.statements.delete(sql); // most recently used last
      this.statements.set(sql, known);
      return known;
    }
    if (this.statements.size >= this.max) await this.close(this.statements.keys().next().value!);
    const name = `consentry_${++this.counter}`;
    const { messages } = await this.pg.execProtocol(concat([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]), { syncToFs: false });
    const params = (messages as BackendMessage[]).find((m): m is ParameterDescription => m.name === 'parameterDescription');
    const rows = (messages as BackendMessage[]).find((m): m is RowDescription => m.name === 'rowDescription');
    const statement: Prepared = { name, paramTypes: params?.dataTypeIDs ?? [], fields: rows?.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })) ?? [] };
    this.statements.set(sql, statement);
    return statement;
  }

  private async close(sql: string): Promise<void> {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    await this.pg.execProtocol(concat([serialize.close({ type: 'S', name: statement.name }), serialize.sync()]), { syncToFs: false });
  }
}
