{
  "targets": [
    {
      "target_name": "unmix",
      "sources": [
        "native/addon.cc",
        "native/autocast.cc",
        "native/autograd.cc",
        "native/data.cc",
        "native/ddp.cc",
        "native/dispatch.cc",
        "native/dist-autograd.cc",
        "native/distributed.cc",
        "native/indexing.cc",
        "native/runtime.cc",
        "native/tensor.cc",
        "native/warnings.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js --gyp-includes)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-fexceptions", "-frtti", "-Wno-unused-parameter", "<!@(node scripts/find-libtorch.js --gyp-cflags)"],
      "libraries": ["-Wl,-rpath,'$$ORIGIN/libtorch'", "<!@(node scripts/find-libtorch.js --gyp-libs)"]
    }
  ]
}
