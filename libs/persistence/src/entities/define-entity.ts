import { Entity } from 'typeorm';

/**
 * Declares a TypeORM entity by calling TypeORM's decorators as functions instead of writing
 * them with `@`. Decorator syntax means different things to different compilers: tsc and SWC
 * (jest) emit the legacy decorators TypeORM needs only when told to, and tsx (esbuild) takes its
 * options from the tsconfig of the working directory, so `node --import tsx apps/…` run from the
 * repository root would emit standard decorators and crash when this package loads. Plain calls
 * mean the same to every compiler; `columns` must name every property of the class.
 */
export function defineEntity<T extends object>(
  target: new () => T,
  definition: { table: string; columns: { [K in keyof T]-?: PropertyDecorator }; indices?: ClassDecorator[] },
): void {
  Entity({ name: definition.table })(target);
  for (const index of definition.indices ?? []) index(target);
  for (const [property, column] of Object.entries<PropertyDecorator>(definition.columns)) column(target.prototype as object, property);
}
