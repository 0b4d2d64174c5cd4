// wgsl_reflect 1.6.0's `main` is CommonJS under `type: module`; we import its ES module build, typed as the package.
declare module 'wgsl_reflect/wgsl_reflect.module.js' { export * from 'wgsl_reflect'; }
