import { MemoryHotStore } from '../../src/storage/memory-store.ts'
import { hotStoreContract } from './contract.ts'

hotStoreContract('memory', () => new MemoryHotStore({ segmentBytes: 4096 }))
