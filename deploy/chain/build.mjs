// Compiles deploy/contracts/src with the pinned solcjs and writes one JSON artifact
// (abi + creation bytecode) per contract into node/chain/artifacts/.
// `node build.mjs --check` compiles in memory and exits 1 if the committed artifacts differ.
import { createRequire } from 'node:module'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const solc = require('solc')

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.resolve(here, '..', '..')
const contractsRoot = path.join(repo, 'deploy', 'contracts')
const artifactsDir = path.join(repo, 'node', 'chain', 'artifacts')

// Bytecode must not depend on comments or file layout, so the metadata hash is left out.
const settings = {
  viaIR: true,
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
}

function solidityFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return solidityFiles(full)
      return entry.name.endsWith('.sol') ? [full] : []
    })
}

function compile() {
  const sources = {}
  for (const file of solidityFiles(path.join(contractsRoot, 'src'))) {
    const unit = path.relative(contractsRoot, file).split(path.sep).join('/')
    sources[unit] = { content: fs.readFileSync(file, 'utf8') }
  }
  const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings })))
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  for (const e of output.errors ?? []) console.error(e.formattedMessage)
  if (errors.length > 0) process.exit(2)

  const artifacts = new Map()
  for (const [sourceName, contracts] of Object.entries(output.contracts)) {
    for (const [contractName, compiled] of Object.entries(contracts)) {
      if (artifacts.has(contractName)) {
        console.error(`duplicate contract name ${contractName}`)
        process.exit(2)
      }
      const artifact = {
        contractName,
        sourceName,
        compiler: `solc ${solc.version()}`,
        abi: compiled.abi,
        bytecode: `0x${compiled.evm.bytecode.object}`,
      }
      artifacts.set(`${contractName}.json`, `${JSON.stringify(artifact, null, 2)}\n`)
    }
  }
  return artifacts
}

function committed() {
  if (!fs.existsSync(artifactsDir)) return new Map()
  return new Map(fs.readdirSync(artifactsDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => [name, fs.readFileSync(path.join(artifactsDir, name), 'utf8')]))
}

const artifacts = compile()
if (process.argv.includes('--check')) {
  const existing = committed()
  const differing = [...new Set([...artifacts.keys(), ...existing.keys()])]
    .filter((name) => artifacts.get(name) !== existing.get(name))
    .sort()
  if (differing.length > 0) {
    console.error(`artifacts out of date (run: node deploy/chain/build.mjs): ${differing.join(', ')}`)
    process.exit(1)
  }
  console.log(`artifacts up to date (${artifacts.size} contracts, solc ${solc.version()})`)
} else {
  fs.mkdirSync(artifactsDir, { recursive: true })
  for (const name of committed().keys()) {
    if (!artifacts.has(name)) fs.rmSync(path.join(artifactsDir, name))
  }
  for (const [name, text] of artifacts) fs.writeFileSync(path.join(artifactsDir, name), text)
  console.log(`wrote ${artifacts.size} artifacts to ${path.relative(repo, artifactsDir)}`)
}
