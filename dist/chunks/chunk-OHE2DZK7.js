import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  MAX_PER_VM,
  OVERRIDABLE_INPUTS,
  checkPacking,
  didYouMean,
  machineShape,
  parseAccelerators,
  parseResources,
  parseServices,
  perVmFit,
  require_dist,
  resourcesInput,
  servicesInput
} from "./chunk-VRTZOPY4.js";
import {
  ConfigurationError,
  EXPERIMENT_ID,
  describeValue,
  isMapping,
  parseMetricInfos
} from "./chunk-F4TJMFJC.js";
import {
  __toESM
} from "./chunk-PDSOAN7B.js";

// src/plan/spec.ts
var import_yaml = __toESM(require_dist(), 1);

// schemas/matrix-spec.schema.json
var matrix_spec_schema_default = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "urn:gce-matrix:schema:matrix-spec:1",
  title: "gce-matrix matrix spec",
  description: `The experiment matrix the plan step expands (docs/matrix.md): axes and their values, exclude and include entries, repetitions, an id template, launch inputs, the report's title and what the metrics mean. YAML or JSON. The plan step also refuses what a schema cannot say: an exclude key that is not an axis, two parameter names that fold to one GCE_MATRIX_PARAM_* variable, two axis values equal as text (1 and "1").`,
  type: "object",
  properties: {
    axes: {
      title: "Axes",
      description: "Axis name to its values; the cross product is the matrix, the first axis varying slowest. A single value is a list of one.",
      type: "object",
      propertyNames: {
        $ref: "#/$defs/parameterName",
        not: {
          const: "launch"
        }
      },
      additionalProperties: {
        $ref: "#/$defs/axisValues"
      },
      examples: [
        {
          tool: ["evomaster", "schemathesis"],
          service: ["petclinic"]
        }
      ]
    },
    exclude: {
      title: "Exclude",
      description: "Applied first: a combination is dropped when it has every key and value of an entry. Keys must be axes.",
      type: "array",
      items: {
        $ref: "#/$defs/excludeEntry"
      }
    },
    include: {
      title: "Include",
      description: "Applied after exclude: an entry extends every combination whose axis values it matches with its other keys, or becomes a combination of its own when it matches none. Its launch sets launch inputs for the combinations it touches.",
      type: "array",
      items: {
        $ref: "#/$defs/includeEntry"
      }
    },
    repetitions: {
      title: "Repetitions",
      description: "How many times each combination runs (1-100, default 1), with the parameter seed = 1..N.",
      anyOf: [
        {
          type: "integer",
          minimum: 1,
          maximum: 100
        },
        {
          description: "A whole number from 1 to 100 written as text.",
          type: "string",
          pattern: "^\\s*0*([1-9][0-9]?|100)(\\.0*)?\\s*$"
        }
      ],
      default: 1
    },
    id: {
      title: "Experiment id template",
      description: 'A template of {param} placeholders, {seed} included, e.g. "{tool}-{service}-{seed}"; each value is put in with the characters ids cannot hold turned into -. Without it, an id joins name-value pairs of the axes and seed.',
      type: "string",
      pattern: "\\S",
      examples: ["{tool}-{service}-{seed}"]
    },
    launch: {
      $ref: "#/$defs/launch",
      title: "Launch inputs",
      description: "Inputs of actions/launch every experiment sets for itself; an include entry's own launch wins."
    },
    title: {
      title: "Report title",
      description: "The report's title: one line, at most 200 characters once surrounding spaces are trimmed. The plan outputs it as title for actions/report.",
      type: "string",
      pattern: "^\\s*[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029](?:[^\\u0000-\\u001f\\u007f\\u2028\\u2029]{0,198}[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029])?\\s*$",
      examples: ["REST API testing tools"]
    },
    metrics: {
      title: "Metrics",
      description: "Metric name (as the command writes it to the metrics file) to its unit, which way is better and a description; a direction alone (score: higher) is short for {better: higher}. The plan outputs this as JSON, metrics, for actions/report and actions/collect.",
      type: "object",
      propertyNames: {
        description: "A metric name: 1-100 characters on one line, not only spaces.",
        minLength: 1,
        maxLength: 100,
        pattern: "^[^\\u0000-\\u001f\\u007f\\u2028\\u2029]*[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029][^\\u0000-\\u001f\\u007f\\u2028\\u2029]*$"
      },
      additionalProperties: {
        $ref: "#/$defs/metric"
      },
      examples: [
        {
          time_s: {
            unit: "s",
            better: "lower"
          },
          score: "higher"
        }
      ]
    }
  },
  additionalProperties: false,
  anyOf: [
    {
      description: "Axes with at least one axis.",
      required: ["axes"],
      properties: {
        axes: {
          minProperties: 1
        }
      }
    },
    {
      description: "At least one include entry.",
      required: ["include"],
      properties: {
        include: {
          minItems: 1
        }
      }
    }
  ],
  $defs: {
    parameterName: {
      title: "Parameter name",
      description: "A letter, then up to 63 of A-Z a-z 0-9 _ . - (it becomes GCE_MATRIX_PARAM_<NAME> on the VM and part of experiment ids).",
      type: "string",
      pattern: "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
    },
    value: {
      title: "Parameter value",
      description: 'A string on one line (at most 200 characters), a number or a boolean; quote "1.0" to keep it text. Lists, mappings and null are refused.',
      anyOf: [
        {
          type: "string",
          maxLength: 200,
          pattern: "^[^\\r\\n\\u0000]*$"
        },
        {
          type: "number"
        },
        {
          type: "boolean"
        }
      ]
    },
    axisValue: {
      title: "Axis value",
      description: "A parameter value that can become part of an experiment id: a string must hold at least one of A-Z a-z 0-9 . _ (other characters become -).",
      anyOf: [
        {
          type: "string",
          maxLength: 200,
          pattern: "^[^\\r\\n\\u0000]*[A-Za-z0-9._][^\\r\\n\\u0000]*$"
        },
        {
          type: "number"
        },
        {
          type: "boolean"
        }
      ]
    },
    axisValues: {
      title: "Axis values",
      description: "The axis's values in order, each listed once; a single value is a list of one.",
      anyOf: [
        {
          type: "array",
          minItems: 1,
          uniqueItems: true,
          items: {
            $ref: "#/$defs/axisValue"
          }
        },
        {
          $ref: "#/$defs/axisValue"
        }
      ]
    },
    excludeEntry: {
      title: "Exclude entry",
      description: "Axis name to value: combinations having all of them are dropped.",
      type: "object",
      propertyNames: {
        $ref: "#/$defs/parameterName",
        not: {
          const: "launch"
        }
      },
      additionalProperties: {
        $ref: "#/$defs/value"
      },
      examples: [
        {
          tool: "restler",
          service: "features"
        }
      ]
    },
    includeEntry: {
      title: "Include entry",
      description: "Parameter name to value, and optionally launch: the launch inputs of the combinations it touches.",
      type: "object",
      propertyNames: {
        $ref: "#/$defs/parameterName"
      },
      properties: {
        launch: {
          $ref: "#/$defs/launch",
          title: "Launch inputs of this entry",
          description: "Inputs of actions/launch for the combinations this entry touches; they win over the spec's launch."
        }
      },
      additionalProperties: {
        $ref: "#/$defs/value"
      },
      examples: [
        {
          tool: "schemathesis",
          service: "petclinic",
          launch: {
            "machine-type": "e2-standard-8"
          }
        }
      ]
    },
    multilineValue: {
      description: "Text that may span lines (a YAML block, command: |), at most 65536 characters, no NUL; or a number or boolean.",
      anyOf: [
        {
          type: "string",
          maxLength: 65536,
          pattern: "^[^\\u0000]*$"
        },
        {
          type: "number"
        },
        {
          type: "boolean"
        }
      ]
    },
    launch: {
      title: "Launch inputs",
      description: "Inputs of actions/launch an experiment may set for itself (see actions/launch/README.md), and per-vm, the plan's own; other inputs are the workflow's.",
      type: "object",
      properties: {
        zones: {
          $ref: "#/$defs/value",
          title: "zones",
          description: "Zones to try in order, comma-separated; a stockout moves on to the next.",
          examples: ["us-central1-a,us-central1-b"]
        },
        "machine-type": {
          $ref: "#/$defs/value",
          title: "machine-type",
          description: "Compute Engine machine type, predefined or custom (default e2-standard-2).",
          examples: ["e2-standard-4", "n2-standard-8", "e2-custom-4-8192"]
        },
        resources: {
          title: "resources",
          description: "What one experiment reserves on its VM: cpus, a whole number 1-416 (default 1), pinned to it; memory-gb, GB that may be fractional (default 0: none reserved); gpus, whole GPUs 0-16 of the VM's accelerators, given to it by id (default 0); disk-gb, GB of the boot disk (default 0). The VM agent starts an experiment once that much is free. Forwarded to actions/launch as cpus=C,memory-gb=M (plus ,gpus=G and ,disk-gb=D when not 0); the text form is accepted too. With machine-type and no per-vm, as many experiments as fit share a VM.",
          anyOf: [
            {
              type: "object",
              properties: {
                cpus: {
                  title: "CPUs",
                  description: "Whole CPUs the experiment reserves and is pinned to, 1-416 (default 1).",
                  anyOf: [
                    {
                      type: "integer",
                      minimum: 1,
                      maximum: 416
                    },
                    {
                      type: "string",
                      pattern: "^\\s*0*([1-9][0-9]?|[1-3][0-9]{2}|4(0[0-9]|1[0-6]))(\\.0*)?\\s*$"
                    }
                  ]
                },
                "memory-gb": {
                  title: "Memory (GB)",
                  description: "Memory the experiment reserves, in GB (1 GB = 1024 MiB), 0-65536, fractions allowed (default 0: none reserved).",
                  anyOf: [
                    {
                      type: "number",
                      minimum: 0,
                      maximum: 65536
                    },
                    {
                      type: "string",
                      pattern: "^\\s*(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)\\s*$"
                    }
                  ]
                },
                gpus: {
                  title: "GPUs",
                  description: "Whole GPUs the experiment reserves, 0-16 (default 0), of those the VM's accelerators attach; its command sees only them (CUDA_VISIBLE_DEVICES).",
                  anyOf: [
                    {
                      type: "integer",
                      minimum: 0,
                      maximum: 16
                    },
                    {
                      type: "string",
                      pattern: "^\\s*0*([0-9]|1[0-6])(\\.0*)?\\s*$"
                    }
                  ]
                },
                "disk-gb": {
                  title: "Disk (GB)",
                  description: "Disk space the experiment reserves on the boot disk, in GB (1 GB = 1024 MiB), 0-65536, fractions allowed (default 0: none reserved). The boot disk less 10 GB for the system is shared out.",
                  anyOf: [
                    {
                      type: "number",
                      minimum: 0,
                      maximum: 65536
                    },
                    {
                      type: "string",
                      pattern: "^\\s*(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)\\s*$"
                    }
                  ]
                }
              },
              additionalProperties: false
            },
            {
              description: "The text form: cpus=C,memory-gb=M,gpus=G,disk-gb=D (any may be left out).",
              type: "string",
              pattern: "^\\s*(cpus|memory-gb|gpus|disk-gb)=[^\\s,=]+([\\s,]+(cpus|memory-gb|gpus|disk-gb)=[^\\s,=]+)*\\s*$"
            }
          ],
          examples: [
            {
              cpus: 2,
              "memory-gb": 4
            },
            "cpus=1,memory-gb=0.5"
          ]
        },
        image: {
          $ref: "#/$defs/value",
          title: "image",
          description: "Boot image or image family; it needs sh and curl.",
          examples: ["projects/debian-cloud/global/images/family/debian-12"]
        },
        "container-image": {
          $ref: "#/$defs/value",
          title: "container-image",
          description: "Run the command inside this container image (the VM image must have docker)."
        },
        "boot-disk-size-gb": {
          $ref: "#/$defs/value",
          title: "boot-disk-size-gb",
          description: "Boot disk size in GB, 10-65536 (default 50); the source snapshot must fit beside the image.",
          examples: [50]
        },
        "boot-disk-type": {
          $ref: "#/$defs/value",
          title: "boot-disk-type",
          description: "Boot disk type (default pd-balanced); the machine type must support it.",
          examples: ["pd-standard", "pd-balanced", "pd-ssd"]
        },
        accelerators: {
          $ref: "#/$defs/value",
          title: "accelerators",
          description: "Accelerators as TYPE:COUNT, comma-separated (COUNT 1-16, default 1).",
          examples: ["nvidia-l4:1"]
        },
        provisioning: {
          $ref: "#/$defs/value",
          title: "provisioning",
          description: "spot, standard (default) or spot-then-standard (spot first, standard when no spot capacity is left).",
          examples: ["spot", "standard", "spot-then-standard"]
        },
        "timeout-minutes": {
          $ref: "#/$defs/value",
          title: "timeout-minutes",
          description: "Minutes the command may run in one attempt, 1-10080, fractions allowed (default 60); then it is stopped with exit code 124.",
          examples: [60]
        },
        "max-attempts": {
          $ref: "#/$defs/value",
          title: "max-attempts",
          description: "Attempts in all, 1-20 (default 3), counting new VMs after a preemption or a lost VM.",
          examples: [3]
        },
        "retry-on-failure": {
          $ref: "#/$defs/value",
          title: "retry-on-failure",
          description: "Also retry when the command itself fails (default false).",
          examples: [false]
        },
        "checkpoint-interval": {
          $ref: "#/$defs/value",
          title: "checkpoint-interval",
          description: "Seconds between syncs of the checkpoint directory while the command runs, 0-86400 (default 300; 0 syncs only at the end and on shutdown).",
          examples: [300]
        },
        detach: {
          $ref: "#/$defs/value",
          title: "detach",
          description: "Create the VM and return at once; actions/watch collects and reports the run when it ends (default false).",
          examples: [false]
        },
        command: {
          $ref: "#/$defs/multilineValue",
          title: "command",
          description: "The command the VM runs (sh -c, in the source snapshot's directory); it gets GCE_MATRIX_* variables and writes its metrics to $GCE_MATRIX_METRICS_FILE. May span lines."
        },
        inputs: {
          $ref: "#/$defs/multilineValue",
          title: "inputs",
          description: "Objects to stage before the command, one per line: gs://bucket/object [destination], into $GCE_MATRIX_INPUT_DIR."
        },
        secrets: {
          $ref: "#/$defs/value",
          title: "secrets",
          description: "Secret Manager references, ENV_NAME=projects/P/secrets/S/versions/V; only the reference reaches the VM."
        },
        services: {
          title: "services",
          description: "Service containers started on the VM before the command and stopped after it, as a mapping of service names (DNS labels) to services (docs/services.md). Each listed container port gets a host port of its own, passed to the command as GCE_MATRIX_SERVICE_<NAME>_HOST, _PORT, _PORT_<port> and _URL. Cannot be combined with container-image yet.",
          type: "object",
          propertyNames: {
            pattern: "^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$"
          },
          additionalProperties: {
            $ref: "#/$defs/service"
          },
          examples: [
            {
              db: {
                image: "postgres:16",
                env: {
                  POSTGRES_PASSWORD: "test"
                },
                ports: [5432],
                health: {
                  cmd: "pg_isready -U postgres"
                },
                cpus: 1,
                memory: "1g"
              }
            }
          ]
        },
        "command-identity": {
          $ref: "#/$defs/value",
          title: "command-identity",
          description: "isolated (default): the command cannot use the VM's service account; vm: it may.",
          examples: ["isolated", "vm"]
        },
        "command-credentials": {
          $ref: "#/$defs/value",
          title: "command-credentials",
          description: "none (default), or experiment: the command gets a Cloud Storage token limited to its own experiment's objects.",
          examples: ["none", "experiment"]
        },
        labels: {
          $ref: "#/$defs/value",
          title: "labels",
          description: "Extra VM labels, key=value, comma-separated (keys starting with gce-matrix are reserved).",
          examples: ["team=perf"]
        },
        source: {
          $ref: "#/$defs/value",
          title: "source",
          description: "repository (default): the repository at source-ref is the command's working directory; none: an empty one (the image carries the code).",
          examples: ["repository", "none"]
        },
        "source-ref": {
          $ref: "#/$defs/value",
          title: "source-ref",
          description: "The commit (full SHA, branch or tag) whose snapshot the command runs; the plan step resolves it to a SHA once, so every VM of the run gets the same code."
        },
        "per-vm": {
          title: "per-vm",
          description: "How many experiments share one VM, 1-64: experiments with equal launch settings are put, in plan order, in groups of per-vm, each group a packed leg of the matrix run by one VM (docs/matrix.md). Read by the plan alone, never passed to actions/launch. Without it, resources and machine-type pack as many as fit; with neither, each experiment has a VM of its own.",
          anyOf: [
            {
              type: "integer",
              minimum: 1,
              maximum: 64
            },
            {
              description: "A whole number from 1 to 64 written as text.",
              type: "string",
              pattern: "^\\s*0*([1-9]|[1-5][0-9]|6[0-4])\\s*$"
            }
          ],
          examples: [4]
        }
      },
      additionalProperties: false
    },
    direction: {
      title: "Direction",
      description: "Which way is an improvement: higher or lower (any case).",
      anyOf: [
        {
          enum: ["higher", "lower"]
        },
        {
          type: "string",
          pattern: "^\\s*([Hh][Ii][Gg][Hh][Ee][Rr]|[Ll][Oo][Ww][Ee][Rr])\\s*$"
        }
      ]
    },
    metric: {
      title: "Metric",
      description: "What a metric means: {unit, better, description}, all optional, or a direction alone.",
      anyOf: [
        {
          $ref: "#/$defs/direction"
        },
        {
          type: "object",
          properties: {
            unit: {
              title: "Unit",
              description: "Shown after the metric's name in the report's headers and in results.csv: one line, at most 20 characters once trimmed.",
              type: "string",
              pattern: "^\\s*(?:[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029](?:[^\\u0000-\\u001f\\u007f\\u2028\\u2029]{0,18}[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029])?)?\\s*$",
              examples: ["ms", "%", "s"]
            },
            better: {
              $ref: "#/$defs/direction",
              title: "Better",
              description: "Which way is an improvement: higher or lower."
            },
            description: {
              title: "Description",
              description: "What the metric measures, said under its pivot table: one line, at most 300 characters once trimmed.",
              type: "string",
              pattern: "^\\s*(?:[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029](?:[^\\u0000-\\u001f\\u007f\\u2028\\u2029]{0,298}[^\\s\\u0000-\\u001f\\u007f\\u2028\\u2029])?)?\\s*$"
            }
          },
          additionalProperties: false
        }
      ]
    },
    service: {
      title: "Service container",
      description: "One service: a container image (or the image alone as text) with its environment, container ports, arguments, health check and limits.",
      anyOf: [
        {
          type: "string",
          minLength: 1
        },
        {
          type: "object",
          required: ["image"],
          additionalProperties: false,
          properties: {
            image: {
              title: "image",
              description: "The container image, e.g. postgres:16.",
              type: "string",
              minLength: 1
            },
            env: {
              title: "env",
              description: "Environment variables of the service.",
              type: "object",
              propertyNames: {
                pattern: "^[A-Za-z_][A-Za-z0-9_]*$"
              },
              additionalProperties: {
                anyOf: [
                  {
                    type: "string"
                  },
                  {
                    type: "number"
                  },
                  {
                    type: "boolean"
                  }
                ]
              }
            },
            ports: {
              title: "ports",
              description: "Container ports (TCP); each gets a host port chosen on the VM.",
              anyOf: [
                {
                  $ref: "#/$defs/containerPort"
                },
                {
                  type: "array",
                  items: {
                    $ref: "#/$defs/containerPort"
                  }
                }
              ]
            },
            command: {
              title: "command",
              description: "The container's arguments: a list, or a string split at blanks.",
              anyOf: [
                {
                  type: "string"
                },
                {
                  type: "array",
                  minItems: 1,
                  items: {
                    anyOf: [
                      {
                        type: "string"
                      },
                      {
                        type: "number"
                      }
                    ]
                  }
                }
              ]
            },
            entrypoint: {
              title: "entrypoint",
              description: "Overrides the image's entrypoint.",
              type: "string",
              minLength: 1
            },
            health: {
              title: "health",
              description: "The readiness check: cmd runs with sh -c in the container every interval-seconds (default 2), each run bounded by timeout-seconds (default 10), at most retries times (default 30); a service never healthy makes the attempt an error naming it. A string is the cmd alone.",
              anyOf: [
                {
                  type: "string",
                  minLength: 1
                },
                {
                  type: "object",
                  required: ["cmd"],
                  additionalProperties: false,
                  properties: {
                    cmd: {
                      type: "string",
                      minLength: 1,
                      title: "cmd",
                      description: "Runs with sh -c in the container; exit 0 means ready."
                    },
                    "interval-seconds": {
                      title: "interval-seconds",
                      description: "Seconds between checks, 1-300 (default 2).",
                      $ref: "#/$defs/healthSeconds"
                    },
                    "timeout-seconds": {
                      title: "timeout-seconds",
                      description: "Seconds one check may take, 1-300 (default 10).",
                      $ref: "#/$defs/healthSeconds"
                    },
                    retries: {
                      title: "retries",
                      description: "Checks before the service counts as never healthy, 1-1000 (default 30).",
                      anyOf: [
                        {
                          type: "integer",
                          minimum: 1,
                          maximum: 1e3
                        },
                        {
                          type: "string",
                          pattern: "^\\s*[0-9]+\\s*$"
                        }
                      ]
                    }
                  }
                }
              ]
            },
            cpus: {
              title: "cpus",
              description: "CPU limit, as docker's --cpus, e.g. 0.5 or 2.",
              anyOf: [
                {
                  type: "number"
                },
                {
                  type: "string",
                  pattern: "^\\s*[0-9.]+\\s*$"
                }
              ]
            },
            memory: {
              title: "memory",
              description: "Memory limit, e.g. 512m or 2g (at least 6m).",
              anyOf: [
                {
                  type: "string",
                  pattern: "^\\s*[0-9]+[bkmgBKMG]?\\s*$"
                },
                {
                  type: "integer"
                }
              ]
            }
          }
        }
      ]
    },
    containerPort: {
      anyOf: [
        {
          type: "integer",
          minimum: 1,
          maximum: 65535
        },
        {
          type: "string",
          pattern: "^\\s*[0-9]+(/tcp)?\\s*$"
        }
      ]
    },
    healthSeconds: {
      anyOf: [
        {
          type: "integer",
          minimum: 1,
          maximum: 300
        },
        {
          type: "string",
          pattern: "^\\s*[0-9]+\\s*$"
        }
      ]
    }
  }
};

// src/json-schema.ts
var ANNOTATIONS = /* @__PURE__ */ new Set([
  "$schema",
  "$id",
  "$comment",
  "$defs",
  "title",
  "description",
  "markdownDescription",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "format"
]);
var CHECKED = /* @__PURE__ */ new Set([
  "$ref",
  "type",
  "const",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "minProperties",
  "anyOf",
  "oneOf",
  "not"
]);
function typeOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}
function hasType(v, type) {
  const actual = typeOf(v);
  if (type === "number") return (actual === "number" || actual === "integer") && Number.isFinite(v);
  return actual === type;
}
function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}
function shown(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
var Validator = class {
  patterns = /* @__PURE__ */ new Map();
  root;
  constructor(root) {
    this.root = root;
  }
  regex(source) {
    let re = this.patterns.get(source);
    if (!re) {
      re = new RegExp(source, "u");
      this.patterns.set(source, re);
    }
    return re;
  }
  resolve(ref) {
    const m = /^#\/\$defs\/([^/]+)$/.exec(ref);
    const defs = isMapping(this.root) ? this.root.$defs : void 0;
    const target = m && isMapping(defs) ? defs[m[1]] : void 0;
    if (typeof target !== "boolean" && !isMapping(target)) {
      throw new Error(`schema: cannot resolve $ref ${ref} (only #/$defs/NAME is supported)`);
    }
    return target;
  }
  check(schema, v, path, out) {
    if (schema === true) return;
    if (schema === false) {
      out.push({ path, message: "is not allowed here" });
      return;
    }
    for (const keyword of Object.keys(schema)) {
      if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) {
        throw new Error(`schema: keyword ${keyword} is not supported by this validator`);
      }
    }
    const s = schema;
    if (typeof s.$ref === "string") this.check(this.resolve(s.$ref), v, path, out);
    if (s.type !== void 0) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => hasType(v, t))) {
        out.push({ path, message: `must be ${types.join(" or ")} (got ${shown(v)})` });
        return;
      }
    }
    if (s.const !== void 0 && !jsonEqual(v, s.const)) {
      out.push({ path, message: `must be ${shown(s.const)} (got ${shown(v)})` });
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => jsonEqual(v, e))) {
      out.push({ path, message: `must be one of ${s.enum.map(shown).join(", ")} (got ${shown(v)})` });
    }
    if (typeof v === "string") this.checkString(s, v, path, out);
    if (typeof v === "number") {
      if (typeof s.minimum === "number" && v < s.minimum) {
        out.push({ path, message: `must be at least ${s.minimum} (got ${v})` });
      }
      if (typeof s.maximum === "number" && v > s.maximum) {
        out.push({ path, message: `must be at most ${s.maximum} (got ${v})` });
      }
    }
    if (Array.isArray(v)) this.checkArray(s, v, path, out);
    if (isMapping(v)) this.checkObject(s, v, path, out);
    if (Array.isArray(s.anyOf)) this.checkAlternatives(s.anyOf, "any", v, path, out);
    if (Array.isArray(s.oneOf)) this.checkAlternatives(s.oneOf, "one", v, path, out);
    if (s.not !== void 0 && this.errors(s.not, v, path).length === 0) {
      out.push({ path, message: `is not allowed here (got ${shown(v)})` });
    }
  }
  errors(schema, v, path) {
    const out = [];
    this.check(schema, v, path, out);
    return out;
  }
  checkString(s, v, path, out) {
    const length = Array.from(v).length;
    if (typeof s.minLength === "number" && length < s.minLength) {
      out.push({ path, message: `must be at least ${s.minLength} character(s) long (got ${shown(v)})` });
    }
    if (typeof s.maxLength === "number" && length > s.maxLength) {
      out.push({ path, message: `must be at most ${s.maxLength} characters long (got ${length})` });
    }
    if (typeof s.pattern === "string" && !this.regex(s.pattern).test(v)) {
      out.push({ path, message: `must match the pattern ${s.pattern} (got ${shown(v)})` });
    }
  }
  checkArray(s, v, path, out) {
    if (typeof s.minItems === "number" && v.length < s.minItems) {
      out.push({ path, message: `must list at least ${s.minItems} item(s) (got ${v.length})` });
    }
    if (typeof s.maxItems === "number" && v.length > s.maxItems) {
      out.push({ path, message: `must list at most ${s.maxItems} item(s) (got ${v.length})` });
    }
    if (s.uniqueItems === true) {
      const twice = v.findIndex((x, i) => v.slice(0, i).some((y) => jsonEqual(x, y)));
      if (twice >= 0) out.push({ path: [...path, twice], message: `repeats ${shown(v[twice])}` });
    }
    if (s.items !== void 0) {
      v.forEach((x, i) => this.check(s.items, x, [...path, i], out));
    }
  }
  checkObject(s, v, path, out) {
    const keys = Object.keys(v);
    const properties = isMapping(s.properties) ? s.properties : {};
    if (Array.isArray(s.required)) {
      for (const key of s.required) {
        if (!Object.hasOwn(v, key)) out.push({ path, message: `must have the key ${JSON.stringify(key)}` });
      }
    }
    if (typeof s.minProperties === "number" && keys.length < s.minProperties) {
      out.push({ path, message: `must have at least ${s.minProperties} key(s) (got ${keys.length})` });
    }
    for (const key of keys) {
      if (s.propertyNames !== void 0) {
        for (const e of this.errors(s.propertyNames, key, [...path, key])) {
          out.push({ path: e.path, message: `is not a valid name here: it ${e.message}` });
        }
      }
      if (Object.hasOwn(properties, key)) {
        this.check(properties[key], v[key], [...path, key], out);
      } else if (s.additionalProperties === false) {
        out.push({ path: [...path, key], message: "is not a known key here" });
      } else if (s.additionalProperties !== void 0) {
        this.check(s.additionalProperties, v[key], [...path, key], out);
      }
    }
  }
  checkAlternatives(options, mode, v, path, out) {
    const results = options.map((o) => this.errors(o, v, path));
    const passed = results.filter((r) => r.length === 0).length;
    if (mode === "one" && passed > 1) {
      out.push({ path, message: `matches ${passed} of the alternatives, where exactly one must match` });
    }
    if (passed > 0) return;
    const depth = (r) => Math.max(...r.map((e) => e.path.length));
    const best = results.reduce((a, b) => depth(b) > depth(a) ? b : a);
    if (depth(best) > path.length) out.push(...best);
    else out.push({ path, message: `matches none of the allowed forms (got ${shown(v)})` });
  }
};
function validateJson(schema, value) {
  const out = [];
  new Validator(schema).check(schema, value, [], out);
  return out;
}
function jsonPath(path) {
  return path.map(
    (p, i) => typeof p === "number" ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(p) ? `${i === 0 ? "" : "."}${p}` : `[${JSON.stringify(p)}]`
  ).join("");
}

// src/plan/spec.ts
var SPEC_KEYS = [
  "axes",
  "include",
  "exclude",
  "repetitions",
  "id",
  "launch",
  "title",
  "metrics"
];
var SEED = "seed";
var MAX_REPETITIONS = 100;
var PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
var MAX_VALUE_LENGTH = 200;
var MAX_TITLE_LENGTH = 200;
function parseSpecText(source) {
  let value;
  try {
    value = (0, import_yaml.parse)(source.text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const first = err.message.split("\n")[0].replace(/:\s*$/, "");
    const where = err instanceof import_yaml.YAMLParseError && err.linePos && !/ at line \d+/.test(first) ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : "";
    throw new ConfigurationError(
      `${source.label} is not valid YAML or JSON: ${first}${where}; fix the syntax (a spec looks like "axes: {tool: [a, b]}")`
    );
  }
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${source.label} must be a mapping with ${SPEC_KEYS.join(", ")} (got ${describeValue(value)}), e.g. "axes: {tool: [a, b]}"`
    );
  }
  for (const key of Object.keys(value)) {
    if (!SPEC_KEYS.includes(key)) {
      throw new ConfigurationError(
        `${source.label} has an unknown key ${JSON.stringify(key)}${hint(key, SPEC_KEYS)}; a spec may have ${SPEC_KEYS.join(", ")}`
      );
    }
  }
  return value;
}
function checkParamName(name, where) {
  if (!PARAM_NAME.test(name)) {
    throw new ConfigurationError(
      `${where}: parameter name ${JSON.stringify(name)} is not valid: start with a letter, then up to 63 of A-Z a-z 0-9 _ . -`
    );
  }
}
function idPart(value) {
  return String(value).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
}
function checkScalar(value, where) {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (/[\r\n\0]/.test(value)) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(value)} holds a line break; values are single-line`
      );
    }
    if (value.length > MAX_VALUE_LENGTH) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(value.slice(0, 40))}... is longer than ${MAX_VALUE_LENGTH} characters`
      );
    }
    return value;
  }
  throw new ConfigurationError(
    `${where} is ${describeValue(value)}; values must be strings, numbers or booleans (quote it, or split a nested value into its own axis)`
  );
}
function checkAxisValue(value, where) {
  const v = checkScalar(value, where);
  if (idPart(v) === "") {
    throw new ConfigurationError(
      `${where}: ${JSON.stringify(v)} cannot become part of an experiment id; use letters, digits, . _ - in it`
    );
  }
  return v;
}
var PER_VM = "per-vm";
var LAUNCH_KEYS = [...OVERRIDABLE_INPUTS, PER_VM];
function parsePerVm(value, where) {
  const n = typeof value === "string" && /^\s*[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_PER_VM) {
    throw new ConfigurationError(
      `${where} must be a whole number from 1 to ${MAX_PER_VM}, how many experiments share one VM (got ${JSON.stringify(value)})`
    );
  }
  return n;
}
function parseLaunch(value, where) {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of actions/launch inputs to values, e.g. {machine-type: n2-standard-8}`
    );
  }
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (!LAUNCH_KEYS.includes(key)) {
      throw new ConfigurationError(
        `${where} sets ${JSON.stringify(key)}, which an experiment cannot set${hint(key, LAUNCH_KEYS)}; it may set ${LAUNCH_KEYS.join(", ")}`
      );
    }
    if (key === PER_VM) {
      out[key] = String(parsePerVm(v, `${where}.${key}`));
      continue;
    }
    if (key === "resources") {
      out[key] = resourcesInput(v, `${where}.resources`);
      continue;
    }
    if (key === "services") {
      out[key] = servicesInput(parseServices(v, `${where}.services`));
      continue;
    }
    out[key] = MULTILINE_LAUNCH.includes(key) && typeof v === "string" ? checkMultiline(v, `${where}.${key}`) : String(checkScalar(v, `${where}.${key}`));
  }
  return out;
}
var MULTILINE_LAUNCH = ["command", "inputs"];
var MAX_MULTILINE_LENGTH = 64 * 1024;
function checkMultiline(value, where) {
  if (value.includes("\0")) throw new ConfigurationError(`${where} holds a NUL character`);
  if (value.length > MAX_MULTILINE_LENGTH) {
    throw new ConfigurationError(
      `${where} is ${value.length} characters, more than ${MAX_MULTILINE_LENGTH}; put a long command in a script file`
    );
  }
  return value;
}
function parseAxes(value, label) {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${label}: axes must be a mapping of axis names to lists of values, e.g. {tool: [a, b], service: [x]}`
    );
  }
  const axes = [];
  for (const [name, raw] of Object.entries(value)) {
    checkParamName(name, `${label}: axes`);
    if (name === "launch") {
      throw new ConfigurationError(`${label}: axes.launch is reserved for launch inputs; rename the axis`);
    }
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) {
      throw new ConfigurationError(
        `${label}: axes.${name} lists no values; give at least one, or remove the axis`
      );
    }
    const seen = /* @__PURE__ */ new Set();
    const values = list.map((v, i) => {
      const value2 = checkAxisValue(v, `${label}: axes.${name}[${i}]`);
      if (seen.has(String(value2))) {
        throw new ConfigurationError(
          `${label}: axes.${name} lists ${JSON.stringify(value2)} twice; list it once`
        );
      }
      seen.add(String(value2));
      return value2;
    });
    axes.push({ name, values });
  }
  return axes;
}
function parseEntry(value, where, allowLaunch) {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of parameter names to values, e.g. {tool: a, service: x} (got ${describeValue(value)})`
    );
  }
  const params = {};
  let launch;
  for (const [key, v] of Object.entries(value)) {
    if (key === "launch" && allowLaunch) {
      launch = parseLaunch(v, `${where}.launch`);
      continue;
    }
    checkParamName(key, where);
    params[key] = checkScalar(v, `${where}.${key}`);
  }
  return { params, launch };
}
function parseList(value, key, label, allowLaunch) {
  if (!Array.isArray(value)) {
    throw new ConfigurationError(`${label}: ${key} must be a list of mappings, e.g. [{tool: a, service: x}]`);
  }
  return value.map((entry, i) => parseEntry(entry, `${label}: ${key}[${i}]`, allowLaunch));
}
function parseRepetitions(value, where) {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_REPETITIONS) {
    throw new ConfigurationError(
      `${where} must be a whole number from 1 to ${MAX_REPETITIONS} (got ${JSON.stringify(value)})`
    );
  }
  return n;
}
function parseSpec(sources) {
  const merged = {};
  const origin = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(parseSpecText(source))) {
      merged[key] = value;
      origin[key] = source.label;
    }
  }
  const label = (key) => origin[key] ?? "input spec";
  const axes = merged.axes === void 0 ? [] : parseAxes(merged.axes, label("axes"));
  const include = merged.include === void 0 ? [] : parseList(merged.include, "include", label("include"), true);
  const exclude = merged.exclude === void 0 ? [] : parseList(merged.exclude, "exclude", label("exclude"), false).map((e) => e.params);
  const axisNames = axes.map((a) => a.name);
  exclude.forEach((entry, i) => {
    for (const key of Object.keys(entry)) {
      if (!axisNames.includes(key)) {
        throw new ConfigurationError(
          `${label("exclude")}: exclude[${i}] names ${JSON.stringify(key)}, which is not an axis; exclude matches axes only (${axisNames.join(", ") || "none declared"})`
        );
      }
    }
  });
  if (axes.length === 0 && include.length === 0) {
    throw new ConfigurationError(
      `${sources.map((s) => s.label).join(" and ")} declares no experiments: give axes (e.g. "axes: {tool: [a, b]}") or include entries`
    );
  }
  const repetitions = merged.repetitions === void 0 ? void 0 : parseRepetitions(merged.repetitions, `${label("repetitions")}: repetitions`);
  let id;
  if (merged.id !== void 0) {
    if (typeof merged.id !== "string" || merged.id.trim() === "") {
      throw new ConfigurationError(
        `${label("id")}: id must be a template string such as "{tool}-{service}-{seed}"`
      );
    }
    id = merged.id.trim();
  }
  const launch = merged.launch === void 0 ? void 0 : parseLaunch(merged.launch, `${label("launch")}: launch`);
  checkEnvNames([...axisNames, ...include.flatMap((e) => Object.keys(e.params)), SEED], sources);
  const title = merged.title === void 0 ? void 0 : parseTitle(merged.title, `${label("title")}: title`);
  const metrics = merged.metrics === void 0 ? /* @__PURE__ */ new Map() : parseMetricInfos(merged.metrics, `${label("metrics")}: metrics`);
  checkAgainstSchema(merged, label);
  return { axes, include, exclude, repetitions, id, launch, title, metrics, origin };
}
function hint(name, known) {
  const text = didYouMean(name, known, (c) => JSON.stringify(c));
  return text === void 0 ? "" : ` (${text})`;
}
function checkAgainstSchema(merged, label) {
  const [first] = validateJson(matrix_spec_schema_default, merged);
  if (!first) return;
  const top = typeof first.path[0] === "string" ? first.path[0] : "";
  throw new ConfigurationError(
    `${label(top)}: ${jsonPath(first.path) || "the spec"} ${first.message}; see schemas/matrix-spec.schema.json and docs/matrix.md`
  );
}
function parseTitle(value, where) {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigurationError(
      `${where} must be text, e.g. "REST API testing tools" (got ${describeValue(value)}); quote a title that YAML reads as a number`
    );
  }
  const text = value.trim();
  if (/[\u0000-\u001f\u007f\u2028\u2029]/.test(text)) {
    throw new ConfigurationError(`${where} holds a line break or control character; keep it on one line`);
  }
  if (text.length > MAX_TITLE_LENGTH) {
    throw new ConfigurationError(
      `${where} is ${text.length} characters, more than ${MAX_TITLE_LENGTH}; shorten it`
    );
  }
  return text;
}
function checkEnvNames(names, sources) {
  const seen = /* @__PURE__ */ new Map();
  for (const name of names) {
    const env = name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    const other = seen.get(env);
    if (other !== void 0 && other !== name) {
      throw new ConfigurationError(
        `${sources.map((s) => s.label).join(" and ")}: parameters ${JSON.stringify(other)} and ${JSON.stringify(name)} both become GCE_MATRIX_PARAM_${env}; rename one`
      );
    }
    seen.set(env, name);
  }
}

// src/plan/pack.ts
import { createHash } from "node:crypto";
function packId(memberIds) {
  return `pack-${createHash("sha256").update(memberIds.join("\n")).digest("hex").slice(0, 10)}`;
}
function effectivePerVm(item) {
  const launch = item.experiment.launch ?? {};
  const from = (key) => `${item.from[key] ?? item.from[PER_VM] ?? "input spec: launch"}.${key}`;
  const resources = launch.resources === void 0 ? void 0 : parseResources(launch.resources, from("resources"));
  const machineType = launch["machine-type"];
  const labels = {
    resources: resources ? from("resources") : `${from("resources")} (not set: 1 CPU each)`,
    perVm: `${from(PER_VM)}, for experiment ${item.experiment.id},`,
    machineType: from("machine-type"),
    accelerators: from("accelerators"),
    bootDisk: from("boot-disk-size-gb")
  };
  const host = {
    gpus: launch.accelerators === void 0 ? void 0 : parseAccelerators(launch.accelerators).reduce((n, a) => n + a.count, 0),
    bootDiskGb: launch["boot-disk-size-gb"] === void 0 ? void 0 : Number(launch["boot-disk-size-gb"])
  };
  const shape = machineType === void 0 ? void 0 : machineShape(machineType);
  const perVm = item.perVm ?? (resources && shape ? Math.max(1, perVmFit(shape, resources, host)) : 1);
  checkPacking(machineType ?? "", resources, perVm, labels, host);
  return perVm;
}
function poolKey(launch, perVm) {
  const entries = Object.entries(launch ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify([perVm, entries]);
}
function groupLegs(items) {
  const groups = [];
  const open = /* @__PURE__ */ new Map();
  const perVmOfPool = /* @__PURE__ */ new Map();
  for (const item of items) {
    const rawKey = poolKey(item.experiment.launch, item.perVm ?? 0);
    let perVm = perVmOfPool.get(rawKey);
    if (perVm === void 0) {
      perVm = effectivePerVm(item);
      perVmOfPool.set(rawKey, perVm);
    }
    const key = poolKey(item.experiment.launch, perVm);
    let group = open.get(key);
    if (!group || group.members.length >= perVm) {
      group = { perVm, launch: item.experiment.launch, members: [] };
      open.set(key, group);
      groups.push(group);
    }
    group.members.push(item.experiment);
  }
  const legs = [];
  const legOf = /* @__PURE__ */ new Map();
  const ids = new Set(items.map((i) => i.experiment.id));
  for (const group of groups) {
    if (group.perVm === 1) {
      const [experiment] = group.members;
      legs.push(experiment);
      legOf.set(experiment.id, experiment.id);
      continue;
    }
    const id = packId(group.members.map((m) => m.id));
    if (ids.has(id)) {
      throw new ConfigurationError(
        `the experiment id ${JSON.stringify(id)} is also the id of a packed leg (pack-<hash>); give it another id`
      );
    }
    const members = group.members.map((m) => ({ id: m.id, params: m.params }));
    legs.push(group.launch ? { id, params: {}, launch: group.launch, members } : { id, params: {}, members });
    for (const m of members) legOf.set(m.id, id);
  }
  return { legs, legOf };
}

// src/plan/expand.ts
var MAX_PRODUCT = 1e6;
function has(params, key, b) {
  return Object.hasOwn(params, key) && String(params[key]) === String(b);
}
function same(a, b) {
  return String(a) === String(b);
}
function show(params) {
  return `{${Object.entries(params).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")}}`;
}
function typed(raw, known) {
  const match = known.find((v) => String(v) === raw);
  if (match !== void 0) return match;
  if (raw === "true") return true;
  if (raw === "false") return false;
  const n = Number(raw);
  if (raw.trim() !== "" && Number.isFinite(n) && String(n) === raw) return n;
  return raw;
}
function resolveRepetitions(spec, input, overrides) {
  let count = spec.repetitions ?? 1;
  let label = spec.repetitions === void 0 ? void 0 : `${spec.origin.repetitions}: repetitions`;
  if (input && input.value.trim() !== "") {
    label = input.label;
    count = parseRepetitions(input.value, label);
  }
  for (const o of overrides) {
    if (o.repetitions === void 0) continue;
    label = `${o.label}: repetitions`;
    count = parseRepetitions(o.repetitions, label);
  }
  return { count, label };
}
function overriddenAxes(spec, overrides) {
  const names = spec.axes.map((a) => a.name);
  const out = /* @__PURE__ */ new Map();
  for (const o of overrides) {
    for (const [name, raw] of o.axes) {
      const axis = spec.axes.find((a) => a.name === name);
      if (!axis) {
        const known = names.length ? `the spec's axes are ${names.join(", ")}` : "the spec declares no axes";
        throw new ConfigurationError(
          `${o.label}: unknown axis ${JSON.stringify(name)}; ${known} (and repetitions=N sets the repetitions)`
        );
      }
      const values = [];
      for (const r of raw) {
        const v = checkAxisValue(typed(r, axis.values), `${o.label}: ${name}`);
        if (!values.some((x) => same(x, v))) values.push(v);
      }
      out.set(name, values);
    }
  }
  return out;
}
function product(axes, label) {
  if (axes.length === 0) return [];
  const size = axes.reduce((n, a) => n * a.values.length, 1);
  if (size > MAX_PRODUCT) {
    throw new ConfigurationError(
      `${label}: the axes make ${size} combinations, far too many to plan; narrow them (or pass overrides such as ${axes[0].name}=${String(axes[0].values[0])})`
    );
  }
  let combos = [{}];
  for (const axis of axes) {
    combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.name]: v })));
  }
  return combos;
}
function combinations(spec, overrides) {
  const axisNames = spec.axes.map((a) => a.name);
  const axes = spec.axes.map((a) => ({ name: a.name, values: overrides.get(a.name) ?? a.values }));
  const axesLabel = spec.origin.axes ?? "input spec";
  const base = product(axes, axesLabel).filter((params) => !spec.exclude.some((ex) => Object.entries(ex).every(([k, v]) => has(params, k, v)))).map((params) => ({
    params,
    launch: void 0,
    launchFrom: {},
    idKeys: [...axisNames],
    label: axesLabel
  }));
  const added = [];
  const includeLabel = spec.origin.include ?? "input spec";
  spec.include.forEach((entry, i) => {
    const keys = Object.keys(entry.params).filter((k) => axisNames.includes(k));
    const from = Object.fromEntries(
      Object.keys(entry.launch ?? {}).map((k) => [k, `${includeLabel}: include[${i}].launch`])
    );
    let matched = false;
    for (const combo of base) {
      if (!keys.every((k) => has(combo.params, k, entry.params[k]))) continue;
      matched = true;
      for (const [k, v] of Object.entries(entry.params)) if (!axisNames.includes(k)) combo.params[k] = v;
      if (entry.launch) {
        combo.launch = { ...combo.launch, ...entry.launch };
        combo.launchFrom = { ...combo.launchFrom, ...from };
      }
    }
    if (!matched) {
      const order = [
        ...axisNames.filter((k) => Object.hasOwn(entry.params, k)),
        ...Object.keys(entry.params).filter((k) => !axisNames.includes(k))
      ];
      const params = {};
      for (const k of order) params[k] = entry.params[k];
      added.push({
        params,
        launch: entry.launch && { ...entry.launch },
        launchFrom: from,
        idKeys: keys.length ? keys.sort((a, b) => axisNames.indexOf(a) - axisNames.indexOf(b)) : order,
        label: `${includeLabel}: include[${i}]`
      });
    }
  });
  return [...base, ...added].filter(
    (combo) => [...overrides].every(([name, values]) => values.some((v) => has(combo.params, name, v)))
  );
}
function makeId(spec, combo, params) {
  if (spec.id === void 0) {
    const parts = combo.idKeys.map((k) => {
      const part = idPart(params[k]);
      if (part === "") {
        throw new ConfigurationError(
          `${combo.label}: value ${JSON.stringify(params[k])} of ${k} cannot become part of an experiment id; use letters, digits, . _ - in it, or set an "id" template that leaves it out`
        );
      }
      return `${k}-${part}`;
    });
    const id2 = parts.join("_");
    if (!EXPERIMENT_ID.test(id2)) {
      throw new ConfigurationError(
        `${combo.label}: the experiment id ${JSON.stringify(id2.slice(0, 60))}... is longer than 200 characters; set a shorter "id" template such as "{${combo.idKeys[0]}}-{${SEED}}"`
      );
    }
    return id2;
  }
  const label = `${spec.origin.id}: id template ${JSON.stringify(spec.id)}`;
  const id = spec.id.replace(/\{([^{}]*)\}/g, (_, name) => {
    const key = name.trim();
    const value = Object.hasOwn(params, key) ? params[key] : void 0;
    if (value === void 0) {
      throw new ConfigurationError(
        `${label} names {${key}}, which experiment ${show(params)} does not have; use ${Object.keys(params).map((k) => `{${k}}`).join(", ")}`
      );
    }
    const part = idPart(value);
    if (part === "") {
      throw new ConfigurationError(
        `${label}: value ${JSON.stringify(value)} of ${key} cannot become part of an experiment id; use letters, digits, . _ - in it`
      );
    }
    return part;
  });
  if (!EXPERIMENT_ID.test(id)) {
    throw new ConfigurationError(
      `${label} gives ${JSON.stringify(id)} for ${show(params)}, which is not a valid experiment id: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit`
    );
  }
  return id;
}
function split(items, size) {
  const n = Math.ceil(items.length / size);
  const out = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.floor(items.length / n) + (i < items.length % n ? 1 : 0);
    out.push(items.slice(start, start + len));
    start += len;
  }
  return out;
}
function expandPlan(spec, overrides, repetitionsInput, limits) {
  const reps = resolveRepetitions(spec, repetitionsInput, overrides);
  const hasSeed = spec.axes.some((a) => a.name === SEED) || spec.include.some((e) => Object.hasOwn(e.params, SEED));
  if (hasSeed && reps.count > 1) {
    throw new ConfigurationError(
      `${reps.label}: the spec already has a "${SEED}" parameter, and repetitions would add another; drop one of them`
    );
  }
  const over = overriddenAxes(spec, overrides);
  const combos = combinations(spec, over);
  if (combos.length === 0) {
    const given = [...over].map(([k, v]) => `${k}=${v.join(",")}`).join(" ");
    const values = spec.axes.map((a) => `${a.name}: ${a.values.join(", ")}`).join("; ");
    throw new ConfigurationError(
      given ? `${overrides.map((o) => o.label).join(" and ")} (${given}) leave no experiments; choose values the spec has (${values}) or that its excludes do not remove` : `${spec.origin.exclude ?? spec.origin.axes ?? "input spec"}: the spec's excludes remove every combination; remove or narrow an exclude entry`
    );
  }
  const count = combos.length * (hasSeed ? 1 : reps.count);
  if (count > limits.maxExperiments) {
    throw new ConfigurationError(
      `the plan has ${count} experiments, more than input max-experiments (${limits.maxExperiments}); narrow it with overrides (e.g. ${spec.axes[0]?.name ?? "axis"}=...), fewer repetitions, or raise max-experiments`
    );
  }
  const experiments = [];
  const items = [];
  const ids = /* @__PURE__ */ new Map();
  const launchDefaults = spec.launch;
  const defaultsFrom = Object.fromEntries(
    Object.keys(launchDefaults ?? {}).map((k) => [k, `${spec.origin.launch ?? "input spec"}: launch`])
  );
  for (const combo of combos) {
    const seeds = hasSeed ? [void 0] : Array.from({ length: reps.count }, (_, i) => i + 1);
    for (const seed of seeds) {
      const params = seed === void 0 ? { ...combo.params } : { ...combo.params, [SEED]: seed };
      const idCombo = seed === void 0 ? combo : { ...combo, idKeys: [...combo.idKeys, SEED] };
      const id = makeId(spec, idCombo, params);
      const other = ids.get(id);
      if (other) {
        throw new ConfigurationError(
          `${spec.id === void 0 ? combo.label : `${spec.origin.id}: id template ${JSON.stringify(spec.id)}`}: experiments ${show(other)} and ${show(params)} both get the id ${JSON.stringify(id)}; make their values differ or set an "id" template that tells them apart`
        );
      }
      ids.set(id, params);
      const given = launchDefaults || combo.launch ? { ...launchDefaults, ...combo.launch } : void 0;
      const { [PER_VM]: perVm, ...launch } = given ?? {};
      const keep = given !== void 0 && (perVm === void 0 || Object.keys(launch).length > 0);
      const experiment = keep ? { id, params, launch } : { id, params };
      experiments.push(experiment);
      items.push({
        experiment,
        perVm: perVm === void 0 ? void 0 : Number(perVm),
        from: { ...defaultsFrom, ...combo.launchFrom }
      });
    }
  }
  const { legs } = groupLegs(items);
  const batches = split(legs, limits.batchSize);
  if (limits.maxBatches !== void 0 && batches.length > limits.maxBatches) {
    const what = legs.length === count ? `${count} experiments` : `${count} experiments on ${legs.length} VMs`;
    throw new ConfigurationError(
      `the plan's ${what} need ${batches.length} batches of at most ${limits.batchSize} (input batch-size), more than input max-batches (${limits.maxBatches}) allows; narrow the plan${legs.length === count ? "" : ", pack more per VM (per-vm)"} or raise batch-size`
    );
  }
  const axisNames = spec.axes.map((a) => a.name);
  const axes = axisNames.length ? axisNames : [...new Set(spec.include.flatMap((e) => Object.keys(e.params)))].filter((k) => k !== SEED || hasSeed);
  return {
    experiments,
    legs,
    axes,
    repetitions: hasSeed ? 1 : reps.count,
    batches,
    title: spec.title,
    metrics: spec.metrics
  };
}

// src/plan/overrides.ts
var COMMENT_COMMAND = "/gce-matrix run";
var KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
var VALUE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$/;
function parseOverrides(text, label) {
  const axes = /* @__PURE__ */ new Map();
  let repetitions;
  const normalized = text.replace(/\s+=/g, "=").replace(/\s*,\s*/g, ",").trim();
  if (normalized === "") return { label, axes, repetitions };
  const tokens = [];
  for (const word of normalized.split(/\s+/)) {
    const last = tokens.length - 1;
    if (!word.includes("=") && last >= 0 && tokens[last].endsWith("=")) tokens[last] += word;
    else tokens.push(word);
  }
  for (const token of tokens) {
    const eq = token.indexOf("=");
    const key = eq > 0 ? token.slice(0, eq) : "";
    if (!KEY.test(key)) {
      throw new ConfigurationError(
        `${label}: ${JSON.stringify(token)} is not axis=value1,value2 (e.g. tool=a,b service=x repetitions=2)`
      );
    }
    const values = token.slice(eq + 1).split(",").filter((v) => v !== "");
    for (const v of values) {
      if (!VALUE.test(v)) {
        throw new ConfigurationError(
          `${label}: ${key} value ${JSON.stringify(v)} may hold only letters, digits and . _ - : / @ + (at most 100, starting with a letter or digit); put other values in the spec`
        );
      }
    }
    if (key === "repetitions") {
      if (values.length > 1) {
        throw new ConfigurationError(`${label}: repetitions takes one number (got ${token.slice(eq + 1)})`);
      }
      if (repetitions !== void 0) {
        throw new ConfigurationError(`${label}: repetitions is given twice; give it once`);
      }
      repetitions = values[0];
      continue;
    }
    if (axes.has(key)) {
      throw new ConfigurationError(
        `${label}: ${key} is given twice; list all its values once, comma-separated (${key}=a,b)`
      );
    }
    axes.set(key, values);
  }
  for (const [key, values] of [...axes]) if (values.length === 0) axes.delete(key);
  return { label, axes, repetitions };
}
function commentArguments(body) {
  const first = body.replace(/^\s+/, "").split(/\r?\n/, 1)[0] ?? "";
  if (!first.startsWith(COMMENT_COMMAND)) return void 0;
  const rest = first.slice(COMMENT_COMMAND.length);
  if (rest !== "" && !/^\s/.test(rest)) return void 0;
  return rest.trim();
}

export {
  SEED,
  parseSpec,
  expandPlan,
  COMMENT_COMMAND,
  parseOverrides,
  commentArguments
};
