import { runAction } from '../action.ts';
import { run } from './main.ts';

await runAction('watch', run);
