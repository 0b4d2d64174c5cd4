// Where a zoo keeps things: <zoo>/zoo.json, <zoo>/<tree>/base/model.safetensors and
// <zoo>/<tree>/<split>/<model-id>/model.safetensors (Model-J's layout, one folder per model).
import { join } from 'node:path';

export type Split = 'train' | 'val' | 'test' | 'val_holdout' | 'test_holdout';

export const manifestPath = (zoo: string): string => join(zoo, 'zoo.json');
export const basePath = (zoo: string, tree: string): string => join(zoo, tree, 'base', 'model.safetensors');
export const modelPath = (zoo: string, tree: string, split: Split, id: string): string => join(zoo, tree, split, id, 'model.safetensors');
export const modelId = (index: number): string => `model_idx_${String(index).padStart(4, '0')}`;
