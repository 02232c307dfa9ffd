import { runAction } from '../action.ts';
import { post } from './cleanup.ts';

await runAction('launch (post)', post);
