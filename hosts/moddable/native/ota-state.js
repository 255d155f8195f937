/*
 * The running image's side of A/B updates (ota-state.c), which the SDK's `ota` module does not
 * cover: is it on trial, mark it valid, roll back, the slot size, restart.
 */
export function runningState() @ "xs_sealbell_ota_running_state";
export function markValid() @ "xs_sealbell_ota_mark_valid";
export function rollback() @ "xs_sealbell_ota_rollback";
export function slotSize() @ "xs_sealbell_ota_slot_size";
export function restart() @ "xs_sealbell_restart";
