// Writes docs/config.md from the settings table (npm run docs:config).
import { writeFileSync } from 'node:fs'
import { renderSettings } from './index.ts'

writeFileSync(new URL('../../docs/config.md', import.meta.url), renderSettings('markdown'))
