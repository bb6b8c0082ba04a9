// vue-tsc type-checks .vue files itself and never needs this. ESLint's type-aware rules run plain
// TypeScript, which cannot read a .vue import without it and would type every component as an error.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent;
  export default component;
}
