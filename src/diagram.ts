import type { EntityMetadata, MetadataStorage } from '@mikro-orm/core';
import { metadataByClassName } from './orm-compat.js';
import { FULLAUTH_ENTITY_NAMES } from './spec.js';

/**
 * A Mermaid ER diagram of the fullauth tables in a metadata storage (from
 * `getFullauthMetadata()`): every column with its database type and keys, and one line per
 * foreign key. Built from the real metadata, so it shows the names and types in force.
 */
export function renderFullauthDiagram(metadata: MetadataStorage): string {
  const metas = FULLAUTH_ENTITY_NAMES.map((name) => metadataByClassName(metadata, name)).filter(
    (meta): meta is EntityMetadata => meta !== undefined,
  );
  const lines = ['erDiagram'];
  for (const meta of metas) {
    const uniqueColumns = new Set(
      meta.uniques.filter((u) => [u.properties].flat().length === 1).flatMap((u) => [u.properties].flat().map((p) => meta.properties[p as never]?.fieldNames?.[0])),
    );
    lines.push(`  ${meta.tableName} {`);
    for (const prop of meta.props) {
      if ((prop.kind !== 'scalar' && prop.kind !== 'm:1') || !prop.fieldNames?.length || !prop.columnTypes?.length) continue;
      prop.fieldNames.forEach((field, i) => {
        const keys = [prop.primary && 'PK', prop.kind === 'm:1' && 'FK', uniqueColumns.has(field) && 'UK'].filter(Boolean);
        const type = prop.columnTypes[i]!.replace(/\s+/g, '_');
        lines.push(`    ${type} ${field}${keys.length ? ` ${keys.join(', ')}` : ''}${prop.nullable ? ' "null"' : ''}`);
      });
    }
    lines.push('  }');
  }
  for (const meta of metas) {
    for (const prop of meta.props) {
      if (prop.kind !== 'm:1') continue;
      const target = metas.find((m) => m.class === prop.targetMeta?.class || m.className === prop.type);
      if (target) lines.push(`  ${target.tableName} ||--o{ ${meta.tableName} : "${prop.fieldNames.join(', ')}"`);
    }
  }
  return lines.join('\n') + '\n';
}
