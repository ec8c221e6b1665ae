import { MemoryObjectStore } from '../../src/objectstore/memory.ts'
import { objectStoreContract } from './contract.ts'

objectStoreContract('memory', async () => new MemoryObjectStore())
