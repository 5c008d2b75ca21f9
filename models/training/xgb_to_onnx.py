"""Convert an XGBoost regression booster to an ONNX ai.onnx.ml TreeEnsembleRegressor.

Built with onnx.helper from the booster's JSON model (save_model(*.json)), which holds the
exact float32 thresholds and leaf values (the text dump rounds them). XGBoost sends x to the
left ("yes") child when x < threshold, and missing values to the left child when
default_left is set; ONNX BRANCH_LT with missing_value_tracks_true expresses exactly that.
"""
from __future__ import annotations

import json
import os
import tempfile

import onnx
from onnx import TensorProto, helper

ML_OPSET = 3          # ai.onnx.ml 3 (onnx 1.12) has TreeEnsembleRegressor with float attributes
DEFAULT_OPSET = 17


def booster_to_onnx(booster, n_features: int, doc: str = '') -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'model.json')
        booster.save_model(p)
        model = json.load(open(p))
    learner = model['learner']
    objective = learner['objective']['name']
    if objective not in ('reg:squarederror', 'reg:absoluteerror', 'reg:pseudohubererror'):
        raise ValueError(f'only identity-link regression objectives are supported, got {objective}')
    # For identity-link objectives the margin starts at base_score itself (no logit transform).
    base_score = float(learner['learner_model_param']['base_score'])
    trees = learner['gradient_booster']['model']['trees']

    attrs = {k: [] for k in ['nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_values', 'nodes_modes',
                              'nodes_truenodeids', 'nodes_falsenodeids', 'nodes_missing_value_tracks_true',
                              'target_treeids', 'target_nodeids', 'target_ids', 'target_weights']}
    for t, tree in enumerate(trees):
        left, right = tree['left_children'], tree['right_children']
        cond, feat, dleft = tree['split_conditions'], tree['split_indices'], tree['default_left']
        for n in range(len(left)):
            attrs['nodes_treeids'].append(t)
            attrs['nodes_nodeids'].append(n)
            if left[n] == -1:
                attrs['nodes_featureids'].append(0)
                attrs['nodes_values'].append(0.0)
                attrs['nodes_modes'].append('LEAF')
                attrs['nodes_truenodeids'].append(0)
                attrs['nodes_falsenodeids'].append(0)
                attrs['nodes_missing_value_tracks_true'].append(0)
                attrs['target_treeids'].append(t)
                attrs['target_nodeids'].append(n)
                attrs['target_ids'].append(0)
                attrs['target_weights'].append(float(cond[n]))   # a leaf's split_condition is its value
            else:
                attrs['nodes_featureids'].append(int(feat[n]))
                attrs['nodes_values'].append(float(cond[n]))
                attrs['nodes_modes'].append('BRANCH_LT')
                attrs['nodes_truenodeids'].append(int(left[n]))
                attrs['nodes_falsenodeids'].append(int(right[n]))
                attrs['nodes_missing_value_tracks_true'].append(int(dleft[n]))

    node = helper.make_node('TreeEnsembleRegressor', ['features'], ['margin'], domain='ai.onnx.ml',
                            n_targets=1, aggregate_function='SUM', post_transform='NONE',
                            base_values=[base_score], **attrs)
    graph = helper.make_graph([node], 'xgboost_regressor',
                              [helper.make_tensor_value_info('features', TensorProto.FLOAT, ['batch', n_features])],
                              [helper.make_tensor_value_info('margin', TensorProto.FLOAT, ['batch', 1])])
    m = helper.make_model(graph, producer_name='caco models/training xgb_to_onnx', doc_string=doc,
                          opset_imports=[helper.make_opsetid('', DEFAULT_OPSET), helper.make_opsetid('ai.onnx.ml', ML_OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m
