console.log('memories cli', process.argv.slice(2).join(' '));
